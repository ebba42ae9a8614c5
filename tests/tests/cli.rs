//! The `lectern` command line: `--help`, and `user add`/`user del` with and
//! without a server running on the data directory.

use lectern_system_tests::{
    assert_success, describe, lectern, lectern_with_stdin, user_add, user_del, xml, RawClient,
    Server, TempDir, DOMAIN,
};

/// Try SASL PLAIN for `user@localhost` on a fresh connection. A failure must be
/// a proper `<failure/>` with `not-authorized`.
async fn can_log_in(server: &Server, user: &str, password: &str) -> bool {
    let mut c = RawClient::connect(server.xmpp_addr(), user).await;
    c.open_stream(DOMAIN).await;
    match c.auth_plain(user, password).await {
        Ok(()) => {
            c.bind(None).await;
            c.ping_server().await;
            true
        }
        Err(failure) => {
            assert_eq!(
                xml::children(&failure)
                    .first()
                    .map(|c| xml::local_name(c).to_owned())
                    .as_deref(),
                Some("not-authorized"),
                "SASL failure for {user} should be not-authorized: {failure}"
            );
            false
        }
    }
}

fn jid(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// The CLI's message must be readable, not a raw storage-engine error.
fn assert_no_raw_lock_error(out: &std::process::Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for raw in [
        "could not acquire lock",
        "WouldBlock",
        "Resource temporarily unavailable",
    ] {
        assert!(
            !all.contains(raw),
            "the CLI leaked a raw lock error ({raw:?})\n{}",
            describe(out)
        );
    }
}

#[test]
fn help_mentions_serve_and_user() {
    let out = lectern(["--help"]);
    assert_success("lectern --help", &out);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("serve"),
        "--help does not mention serve:\n{help}"
    );
    assert!(
        help.contains("user"),
        "--help does not mention user:\n{help}"
    );
}

#[tokio::test]
async fn users_added_offline_can_log_in() {
    let dir = TempDir::new("cli-add");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    assert_success(
        "user add --password",
        &user_add(&data, &jid("alice"), "alice-secret"),
    );
    let out = lectern_with_stdin(
        [
            "user".as_ref(),
            "add".as_ref(),
            jid("bob").as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
        ],
        "bob-secret\n",
    );
    assert_success("user add with the password on stdin", &out);

    let server = Server::builder().data_dir(&data).start();
    assert!(can_log_in(&server, "alice", "alice-secret").await);
    assert!(can_log_in(&server, "bob", "bob-secret").await);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_fail() {
    let server = Server::builder().user("alice", "alice-secret").start();

    assert!(!can_log_in(&server, "alice", "not-the-password").await);
    assert!(!can_log_in(&server, "alice", "").await);
    assert!(!can_log_in(&server, "mallory", "alice-secret").await);
    // Failed attempts do not lock the account.
    assert!(can_log_in(&server, "alice", "alice-secret").await);
}

#[tokio::test]
async fn user_deleted_while_running_can_no_longer_log_in() {
    let server = Server::builder().user("alice", "alice-secret").start();
    assert!(can_log_in(&server, "alice", "alice-secret").await);

    let out = user_del(server.data_dir(), &jid("alice"));
    assert_success("user del (server running)", &out);
    assert!(!can_log_in(&server, "alice", "alice-secret").await);
}

#[tokio::test]
async fn user_deleted_offline_can_no_longer_log_in() {
    let dir = TempDir::new("cli-del");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    assert_success("user add", &user_add(&data, &jid("alice"), "alice-secret"));
    assert_success("user add", &user_add(&data, &jid("bob"), "bob-secret"));
    assert_success("user del (offline)", &user_del(&data, &jid("alice")));

    let server = Server::builder().data_dir(&data).start();
    assert!(!can_log_in(&server, "alice", "alice-secret").await);
    assert!(can_log_in(&server, "bob", "bob-secret").await);
}

#[tokio::test]
async fn user_add_while_the_server_holds_the_data_dir() {
    let server = Server::start();

    let out = user_add(server.data_dir(), &jid("dave"), "dave-secret");
    assert_no_raw_lock_error(&out);
    if out.status.success() {
        assert!(
            can_log_in(&server, "dave", "dave-secret").await,
            "user added through the running server cannot log in"
        );
    } else {
        // Allowed only with a clear message on stderr.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.trim().is_empty(),
            "user add failed silently\n{}",
            describe(&out)
        );
        eprintln!(
            "note: user add with a running server was refused:\n{}",
            describe(&out)
        );
    }

    let out = lectern_with_stdin(
        [
            "user".as_ref(),
            "add".as_ref(),
            jid("erin").as_ref(),
            "--data".as_ref(),
            server.data_dir().as_os_str(),
        ],
        "erin-secret\n",
    );
    assert_no_raw_lock_error(&out);
    if out.status.success() {
        assert!(can_log_in(&server, "erin", "erin-secret").await);
    }
}

#[test]
fn user_add_with_an_invalid_jid_fails_with_a_message() {
    let dir = TempDir::new("cli-bad");
    let out = user_add(dir.path(), "@localhost", "pw");
    assert!(
        !out.status.success(),
        "user add @localhost succeeded\n{}",
        describe(&out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "no message on stderr\n{}",
        describe(&out)
    );
}
