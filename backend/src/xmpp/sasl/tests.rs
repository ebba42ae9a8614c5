//! The server mechanisms against the `sasl` crate's client, an independent implementation.

use sasl::client::mechanisms::Scram as ClientScram;
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::ChannelBinding;

use super::*;

fn alice() -> Account {
    new_account("secret")
}

fn lookup_alice(user: &str) -> Option<Account> {
    (user == "alice").then(alice)
}

/// Runs a whole exchange with the given client; returns the server's verdict.
fn run(
    name: &str,
    client: &mut dyn sasl::client::Mechanism,
    account: Account,
) -> Result<String, Failure> {
    let mut server = Mechanism::start(name, &offered(false, true))?;
    let mut lookup = |u: &str| (u == "alice").then(|| account.clone());
    let mut msg = client.initial();
    loop {
        match server.step(&msg, &mut lookup)? {
            Step::Challenge(c) => msg = client.response(&c).expect("client accepts challenge"),
            Step::Success {
                username,
                additional,
            } => {
                client
                    .success(&additional)
                    .expect("client verifies the server signature");
                return Ok(username);
            }
        }
    }
}

#[test]
fn scram_sha256_and_sha1_accept_the_right_password() {
    let account = alice();
    let mut c = ClientScram::<Sha256>::new("alice", "secret", ChannelBinding::None).unwrap();
    assert_eq!(
        run("SCRAM-SHA-256", &mut c, account.clone()),
        Ok("alice".into())
    );
    let mut c = ClientScram::<Sha1>::new("alice", "secret", ChannelBinding::None).unwrap();
    assert_eq!(run("SCRAM-SHA-1", &mut c, account), Ok("alice".into()));
}

#[test]
fn scram_rejects_wrong_password_and_unknown_user_alike() {
    let mut c = ClientScram::<Sha256>::new("alice", "wrong", ChannelBinding::None).unwrap();
    assert_eq!(
        run("SCRAM-SHA-256", &mut c, alice()),
        Err(Failure::NotAuthorized)
    );
    let mut c = ClientScram::<Sha256>::new("bob", "secret", ChannelBinding::None).unwrap();
    assert_eq!(
        run("SCRAM-SHA-256", &mut c, alice()),
        Err(Failure::NotAuthorized)
    );
}

#[test]
fn scram_accepts_y_flag_and_rejects_tampered_channel_binding() {
    let account = alice();
    let mut server = Mechanism::start("SCRAM-SHA-256", &offered(false, false)).unwrap();
    let mut lookup = |u: &str| (u == "alice").then(|| account.clone());
    let first = server.step(b"y,,n=alice,r=abc", &mut lookup).unwrap();
    let Step::Challenge(c) = first else {
        panic!("expected challenge")
    };
    let nonce = String::from_utf8(c).unwrap();
    let r = nonce.split(',').next().unwrap();
    // c=biws is base64("n,,"), not the "y,," header the client opened with.
    let fin = format!("c=biws,{r},p=AAAA");
    assert_eq!(
        server.step(fin.as_bytes(), &mut lookup),
        Err(Failure::NotAuthorized)
    );
}

#[test]
fn scram_rejects_garbage() {
    let mut lookup = lookup_alice;
    for input in [
        &b""[..],
        b"p=tls-unique,,n=alice,r=x",
        b"n,,r=x",
        b"n,,n=,r=x",
        b"\xff",
    ] {
        let mut s = Mechanism::start("SCRAM-SHA-1", &offered(false, false)).unwrap();
        assert_eq!(
            s.step(input, &mut lookup),
            Err(Failure::MalformedRequest),
            "{input:?}"
        );
    }
}

#[test]
fn plain_checks_password_and_authzid() {
    let mut lookup = lookup_alice;
    let mut ok = Mechanism::start("PLAIN", &offered(false, true)).unwrap();
    assert!(matches!(
        ok.step(b"\0alice\0secret", &mut lookup),
        Ok(Step::Success { .. })
    ));
    let mut bad = Mechanism::start("PLAIN", &offered(false, true)).unwrap();
    assert_eq!(
        bad.step(b"\0alice\0nope", &mut lookup),
        Err(Failure::NotAuthorized)
    );
    let mut other = Mechanism::start("PLAIN", &offered(false, true)).unwrap();
    assert_eq!(
        other.step(b"bob@localhost\0alice\0secret", &mut lookup),
        Err(Failure::InvalidAuthzid)
    );
}

#[test]
fn offers_depend_on_stream() {
    assert_eq!(offered(true, true), vec!["ANONYMOUS"]);
    assert!(!offered(false, false).contains(&"PLAIN"));
    assert_eq!(
        Mechanism::start("PLAIN", &offered(false, false)).err(),
        Some(Failure::InvalidMechanism)
    );
    assert_eq!(
        Mechanism::start("ANONYMOUS", &offered(false, true)).err(),
        Some(Failure::InvalidMechanism)
    );
    let mut anon = Mechanism::start("ANONYMOUS", &offered(true, false)).unwrap();
    let mut lookup = lookup_alice;
    assert!(matches!(
        anon.step(b"", &mut lookup),
        Ok(Step::Success { .. })
    ));
}
