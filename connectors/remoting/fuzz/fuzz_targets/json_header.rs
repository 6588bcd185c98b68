//! Fuzzes the two header decoders (protocol.md §1.3, §1.4) on arbitrary bytes: each must decode
//! or fail with an error, never panic. A header that decodes must re-encode to a header that
//! decodes to the same command and writes the same bytes again, in its own form and in the
//! other one. Compared as each form writes them: the language (a name in JSON, where an unknown
//! byte becomes `OTHER`; a byte in the binary form, where an unknown name becomes 7) and an empty
//! remark (none in the binary form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_remoting::frame::{
    decode_json_header, decode_rocketmq_header, write_json_header, write_rocketmq_header,
};
use sluice_remoting::{LanguageCode, RemotingCommand};

fn as_json(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::new();
    write_json_header(cmd, &mut out);
    out
}

fn as_binary(cmd: &RemotingCommand) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    write_rocketmq_header(cmd, &mut out).ok().map(|()| out)
}

/// The command as the JSON form carries it: a language by its name (an unknown byte as
/// `OTHER`).
fn json_view(cmd: &RemotingCommand) -> RemotingCommand {
    let mut c = cmd.clone();
    c.language = LanguageCode::from_name(cmd.language.name());
    c
}

/// The command as the binary form carries it: a language by its byte, no empty remark.
fn binary_view(cmd: &RemotingCommand) -> RemotingCommand {
    let mut c = cmd.clone();
    c.language = LanguageCode::from_byte(cmd.language.byte());
    if c.remark.as_deref() == Some("") {
        c.remark = None;
    }
    c
}

/// Written as JSON, `cmd` reads back as `want`, and writes the same bytes again.
fn via_json(cmd: &RemotingCommand, want: &RemotingCommand) {
    let json = as_json(cmd);
    let again = decode_json_header(&json).expect("a written JSON header decodes");
    assert_eq!(&again, want, "JSON header round trip");
    assert_eq!(as_json(&again), as_json(want), "JSON header written twice alike");
}

/// Written in the binary form (when its fields fit), `cmd` reads back as `want`.
fn via_binary(cmd: &RemotingCommand, want: &RemotingCommand) {
    if let Some(bin) = as_binary(cmd) {
        let again = decode_rocketmq_header(&bin).expect("a written binary header decodes");
        assert_eq!(&again, want, "binary header round trip");
        assert_eq!(as_binary(&again), Some(bin), "binary header written twice alike");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = decode_json_header(data) {
        assert!(cmd.body.is_empty());
        // A numeric language reads as its byte, and an unknown byte writes as the name OTHER.
        via_json(&cmd, &json_view(&cmd));
        via_binary(&cmd, &binary_view(&cmd));
    }
    if let Ok(cmd) = decode_rocketmq_header(data) {
        assert!(cmd.body.is_empty());
        via_binary(&cmd, &cmd);
        via_json(&cmd, &json_view(&cmd));
    }
});
