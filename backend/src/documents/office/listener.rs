//! One resident converter: an unoserver process (Python, XML-RPC) with its LibreOffice, its
//! own profile directory, an address-space limit, and — where the kernel lets us — its own
//! empty network namespace, so a document that links remote images or templates cannot make
//! the converter fetch anything.
//!
//! The process tree is `prlimit → [unshare --net →] sh → unoserver → soffice`, in a process
//! group of its own. The shell holds a lifeline: our end of its stdin. When this process
//! closes it (a listener is dropped) or dies, even by SIGKILL, the shell's `read` returns and
//! it kills the whole group, so no LibreOffice outlives the server.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use super::Setup;

/// Brings loopback up inside a fresh namespace (harmless outside one), starts unoserver, and
/// kills the process group when either unoserver exits or the lifeline on stdin closes.
const SUPERVISOR: &str = r#"ip link set lo up 2>/dev/null
{ "$@" </dev/null; kill -KILL 0; } &
read -r _
kill -KILL 0"#;

/// LibreOffice settings written into each fresh profile: no macros, no links to locations
/// outside the document (a second line of defence where no network namespace is available).
const REGISTRY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyName" oor:op="fuse"><value>127.0.0.1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyName" oor:op="fuse"><value>127.0.0.1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyPort" oor:op="fuse"><value>9</value></prop></item>
</oor:items>
"#;

pub struct Listener {
    child: Child,
    /// Dropping it ends the process group (see the module docs).
    _lifeline: ChildStdin,
    port: u16,
    isolated: bool,
    /// `/proc/PID/ns/net` of the isolated tree, held open so connections can be made inside.
    netns: Option<File>,
    pub started: Instant,
}

impl Listener {
    /// Starts worker `index`; returns at once (LibreOffice takes seconds to accept).
    pub fn spawn(setup: &Setup, index: usize) -> std::io::Result<Self> {
        let dir = setup.work.join(format!("worker-{index}"));
        let profile = dir.join("profile");
        let tmp = dir.join("tmp");
        // A profile left by a killed LibreOffice may hold a lock or half-written state.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(profile.join("user"))?;
        std::fs::create_dir_all(&tmp)?;
        std::fs::write(profile.join("user/registrymodifications.xcu"), REGISTRY)?;
        let (port, uno_port) = if setup.isolate {
            // A namespace of its own: the default ports are free in every one.
            (2003, 2002)
        } else {
            (free_port()?, free_port()?)
        };
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={}", setup.memory_limit))
            .arg("--core=0")
            .arg("--");
        if setup.isolate {
            cmd.args(["unshare", "--net", "--"]);
        }
        cmd.args(["sh", "-c", SUPERVISOR, "sh"])
            .arg(&setup.unoserver)
            .args(["--interface", "127.0.0.1", "--uno-interface", "127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--uno-port={uno_port}"))
            .arg("--user-installation")
            .arg(&profile)
            .arg("--temp-dir")
            .arg(&tmp)
            .arg(format!(
                "--conversion-timeout={}",
                setup.timeout.as_secs().max(1)
            ))
            .arg("--quiet")
            .env("TMPDIR", &tmp)
            .env("HOME", &dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let lifeline = child.stdin.take().expect("stdin is piped");
        Ok(Self {
            child,
            _lifeline: lifeline,
            port,
            isolated: setup.isolate,
            netns: None,
            started: Instant::now(),
        })
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Calls unoserver's `convert(inpath, outpath)`, waiting up to `timeout` for the answer.
    /// Connection attempts go on until `ready_by` while LibreOffice is still starting.
    pub fn convert(
        &mut self,
        input: &Path,
        output: &Path,
        ready_by: Instant,
        timeout: Duration,
    ) -> Result<(), CallError> {
        let mut stream = loop {
            match self.connect() {
                Ok(s) => break s,
                Err(_) if Instant::now() < ready_by && self.is_alive() => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => return Err(CallError::Unreachable(e.to_string())),
            }
        };
        let body = super::xmlrpc::convert_call(input, output);
        let request = format!(
            "POST /RPC2 HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.write_all(request.as_bytes()).map_err(io)?;
        stream.write_all(body.as_bytes()).map_err(io)?;
        let mut answer = Vec::new();
        match stream.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock) => {
                return Err(CallError::Timeout)
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(CallError::Timeout),
            Err(e) => return Err(io(e)),
        }
        super::xmlrpc::parse_response(&answer).map_err(CallError::Fault)
    }

    fn connect(&mut self) -> std::io::Result<TcpStream> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        if !self.isolated {
            return TcpStream::connect(addr);
        }
        if self.netns.is_none() {
            // The child starts as prlimit in our namespace; only after `unshare` has run does
            // its namespace differ from ours.
            let theirs = format!("/proc/{}/ns/net", self.child.id());
            if std::fs::read_link(&theirs)? == std::fs::read_link("/proc/self/ns/net")? {
                return Err(std::io::Error::other("the converter is still starting"));
            }
            self.netns = Some(File::open(&theirs)?);
        }
        let ns = self.netns.as_ref().expect("opened above");
        // A socket belongs to the namespace it was created in; only this throwaway thread
        // enters the converter's namespace, so the server's own sockets are unaffected.
        let fd = ns.as_raw_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns only changes this thread's network namespace; `fd` is an open
                // namespace file owned by `self` for the duration of the scope.
                if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("connect thread panicked")))
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // The whole group at once: killing only the shell would orphan unoserver and soffice.
        let pid = self.child.id() as i32;
        // SAFETY: signals the process group this listener created (pgid = its pid).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub enum CallError {
    /// LibreOffice did not answer in time (the listener must be replaced).
    Timeout,
    /// The listener is gone or never came up.
    Unreachable(String),
    /// unoserver answered with an XML-RPC fault: the document could not be converted.
    Fault(String),
}

fn io(e: std::io::Error) -> CallError {
    CallError::Unreachable(e.to_string())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
