//! The sender's language, protocol.md §1.6. JSON headers carry the name, ROCKETMQ binary
//! headers the byte. Unknown values are kept, never rejected.

use std::fmt;

/// `language` of a [`RemotingCommand`](crate::RemotingCommand).
///
/// ali-ons claims `JAVA`; Go sends `GO`, C++ `CPP`, rocketmq-rust `RUST` (§1.7). The server
/// should answer with [`LanguageCode::Java`] (§1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    /// 5.x.
    Rust,
    /// 5.x.
    NodeJs,
    /// A name (JSON header) not in §1.6, kept verbatim. Encodes as byte 7 (`OTHER`).
    UnknownName(String),
    /// A byte (binary header) not in §1.6, kept verbatim. Encodes as the name `OTHER`.
    UnknownByte(u8),
}

const TABLE: [(LanguageCode, &str, u8); 14] = [
    (LanguageCode::Java, "JAVA", 0),
    (LanguageCode::Cpp, "CPP", 1),
    (LanguageCode::Dotnet, "DOTNET", 2),
    (LanguageCode::Python, "PYTHON", 3),
    (LanguageCode::Delphi, "DELPHI", 4),
    (LanguageCode::Erlang, "ERLANG", 5),
    (LanguageCode::Ruby, "RUBY", 6),
    (LanguageCode::Other, "OTHER", 7),
    (LanguageCode::Http, "HTTP", 8),
    (LanguageCode::Go, "GO", 9),
    (LanguageCode::Php, "PHP", 10),
    (LanguageCode::Oms, "OMS", 11),
    (LanguageCode::Rust, "RUST", 12),
    (LanguageCode::NodeJs, "NODE_JS", 13),
];

impl LanguageCode {
    /// From the JSON name (`"JAVA"`, `"GO"` …); an unknown name is kept as
    /// [`LanguageCode::UnknownName`].
    pub fn from_name(name: &str) -> Self {
        TABLE
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(code, _, _)| code.clone())
            .unwrap_or_else(|| LanguageCode::UnknownName(name.to_owned()))
    }

    /// From the binary-header byte; an unknown byte is kept as [`LanguageCode::UnknownByte`].
    pub fn from_byte(byte: u8) -> Self {
        TABLE
            .iter()
            .find(|(_, _, b)| *b == byte)
            .map(|(code, _, _)| code.clone())
            .unwrap_or(LanguageCode::UnknownByte(byte))
    }

    /// The name written into JSON headers.
    pub fn name(&self) -> &str {
        match self {
            LanguageCode::UnknownName(name) => name,
            LanguageCode::UnknownByte(_) => "OTHER",
            known => TABLE
                .iter()
                .find(|(code, _, _)| code == known)
                .map(|(_, name, _)| *name)
                .unwrap_or("OTHER"),
        }
    }

    /// The byte written into ROCKETMQ binary headers.
    pub fn byte(&self) -> u8 {
        match self {
            LanguageCode::UnknownName(_) => 7,
            LanguageCode::UnknownByte(b) => *b,
            known => TABLE
                .iter()
                .find(|(code, _, _)| code == known)
                .map(|(_, _, b)| *b)
                .unwrap_or(7),
        }
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips() {
        for (code, name, byte) in TABLE.iter() {
            assert_eq!(&LanguageCode::from_name(name), code);
            assert_eq!(&LanguageCode::from_byte(*byte), code);
            assert_eq!(code.name(), *name);
            assert_eq!(code.byte(), *byte);
        }
        assert_eq!(LanguageCode::from_byte(12), LanguageCode::Rust);
        assert_eq!(LanguageCode::from_name("NODE_JS").byte(), 13);
    }

    #[test]
    fn unknown_values_are_kept() {
        let l = LanguageCode::from_name("COBOL");
        assert_eq!(l, LanguageCode::UnknownName("COBOL".into()));
        assert_eq!(l.name(), "COBOL");
        assert_eq!(l.byte(), 7);
        let b = LanguageCode::from_byte(200);
        assert_eq!(b.byte(), 200);
        assert_eq!(b.name(), "OTHER");
        // Names are case-sensitive, like Java's Enum.valueOf.
        assert!(matches!(
            LanguageCode::from_name("java"),
            LanguageCode::UnknownName(_)
        ));
    }
}
