//! A panic on any thread stops the process (`sluice::abort_on_panic`, installed by the binary
//! before a server starts): the test re-executes itself as a child that installs the hook and
//! panics on a background thread while its main thread keeps running, and checks that the
//! child died of SIGABRT instead of living on half-alive.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "SLUICE_PANIC_ABORT_CHILD";

#[test]
fn a_panic_on_a_background_thread_aborts_the_process() {
    if std::env::var_os(CHILD).is_some() {
        sluice::abort_on_panic();
        std::thread::spawn(|| panic!("injected"));
        // A half-alive process would get here and exit 0 after the sleep.
        std::thread::sleep(Duration::from_secs(5));
        std::process::exit(0);
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "a_panic_on_a_background_thread_aborts_the_process",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status {:?}, stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("injected"),
        "the panic message is printed: {stderr}"
    );
}
