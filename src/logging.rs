//! Where the server subcommands log: stderr (colour only when it is a terminal), or
//! `--log-dir DIR` (else `$ROCKETMQ_HOME/logs` when that directory exists) as a file rotated
//! daily (`tracing-appender`); `--log-format json` writes JSON lines. `RUST_LOG` filters.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging options of the server subcommands (standalone, broker, namesrv).
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Write logs to DIR/<name>.log.YYYY-MM-DD, a new file each day, instead of stderr
    /// (default: $ROCKETMQ_HOME/logs if that directory exists).
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// The directory logs go to, if any: `--log-dir`, else `$ROCKETMQ_HOME/logs` if present.
    fn dir(&self) -> Option<PathBuf> {
        self.log_dir.clone().or_else(|| {
            let home = std::env::var_os("ROCKETMQ_HOME")?;
            let logs = PathBuf::from(home).join("logs");
            logs.is_dir().then_some(logs)
        })
    }
}

/// Installs the global subscriber: a server's options and the name of its log file
/// (`broker`, `namesrv`, `standalone`), or `None` for the tools (text on stderr).
pub fn init(server: Option<(&LogArgs, &str)>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let format = server.map_or(LogFormat::Text, |(a, _)| a.log_format);
    let file = server.and_then(|(a, name)| Some((a.dir()?, name)));
    let (writer, ansi) = match file {
        Some((dir, name)) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("creating the log directory {}: {e}", dir.display()))?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix(format!("{name}.log"))
                .build(&dir)
                .map_err(|e| anyhow::anyhow!("opening a log file in {}: {e}", dir.display()))?;
            eprintln!("sluice {name}: logging to {}/{name}.log.<date>", dir.display());
            (BoxMakeWriter::new(appender), false)
        }
        None => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}
