//! `sluice admin analytics list|attach|detach|show`: the broker's analytics jobs over its HTTP
//! listener (`analyticsHttpPort`, see `broker/http/analytics.rs`).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::output::{Output, Table};

#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// The broker's analytics HTTP address (`analyticsHttpPort`).
    #[arg(long = "http", default_value = "127.0.0.1:10912")]
    pub http: String,
    #[command(subcommand)]
    pub command: AnalyticsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// The attached jobs.
    List,
    /// Attach a built-in job to a topic.
    Attach(AttachArgs),
    /// Detach a job (its dataflow and results are dropped).
    Detach {
        /// Job name.
        name: String,
    },
    /// A job's results.
    Show {
        /// Job name.
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Count,
    TopN,
    Lag,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Job name.
    pub name: String,
    /// Topic.
    #[arg(short = 't', long)]
    pub topic: String,
    #[arg(short = 'k', long, value_enum, default_value = "count")]
    pub kind: Kind,
    /// count / top-n: group by topic, tag or key.
    #[arg(long, default_value = "tag")]
    pub by: String,
    /// count / lag: window length in ms.
    #[arg(short = 'w', long = "window", default_value_t = 60_000)]
    pub window_ms: u64,
    /// top-n: how many.
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// lag: consumer group.
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// lag: windows kept.
    #[arg(long, default_value_t = 60)]
    pub keep: usize,
    /// Start from `earliest` or `now`.
    #[arg(long, default_value = "earliest")]
    pub start: String,
}

pub async fn run(args: &AnalyticsArgs, timeout: Duration) -> Result<Output> {
    match &args.command {
        AnalyticsCommand::List => {
            let jobs = request(&args.http, "GET", "/jobs", None, timeout).await?;
            let mut table = Table::new(&["#Job", "#Topic", "#Kind", "#Spec"]);
            for j in jobs.as_array().into_iter().flatten() {
                table.row(vec![
                    str_of(&j["name"]),
                    str_of(&j["topic"]),
                    str_of(&j["kind"]),
                    if j["spec"].is_null() {
                        String::new()
                    } else {
                        j["spec"].to_string()
                    },
                ]);
            }
            Ok(Output::text(table.render(), jobs))
        }
        AnalyticsCommand::Attach(a) => {
            let mut spec = json!({"name": a.name, "topic": a.topic, "start": a.start});
            match a.kind {
                Kind::Count => {
                    spec["kind"] = json!("count");
                    spec["by"] = json!(a.by);
                    spec["window_ms"] = json!(a.window_ms);
                }
                Kind::TopN => {
                    spec["kind"] = json!("top_n");
                    spec["by"] = json!(a.by);
                    spec["n"] = json!(a.n);
                }
                Kind::Lag => {
                    let Some(group) = &a.group else {
                        bail!("a lag job needs --group");
                    };
                    spec["kind"] = json!("lag");
                    spec["group"] = json!(group);
                    spec["window_ms"] = json!(a.window_ms);
                    spec["keep"] = json!(a.keep);
                }
            }
            let info = request(&args.http, "POST", "/jobs", Some(&spec), timeout).await?;
            Ok(Output::text(format!("attached {}", a.name), info))
        }
        AnalyticsCommand::Detach { name } => {
            let v = request(&args.http, "DELETE", &format!("/jobs/{name}"), None, timeout).await?;
            Ok(Output::text(format!("detached {name}"), v))
        }
        AnalyticsCommand::Show { name } => {
            let v = request(&args.http, "GET", &format!("/jobs/{name}"), None, timeout).await?;
            let mut table = Table::new(&["#Window", "#Key", "#Value", "#Rate/s"]);
            for r in v["rows"].as_array().into_iter().flatten() {
                table.row(vec![
                    r["window"].to_string(),
                    str_of(&r["key"]),
                    r["value"].to_string(),
                    r["rate_per_s"]
                        .as_f64()
                        .map(|x| format!("{x:.2}"))
                        .unwrap_or_default(),
                ]);
            }
            Ok(Output::text(table.render(), v))
        }
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())
}

/// One HTTP/1.1 request (Connection: close); the JSON answer, or the server's error as an error.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Value> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to the analytics HTTP listener {addr}"))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        anyhow::Ok(buf)
    };
    let buf = tokio::time::timeout(timeout, exchange)
        .await
        .with_context(|| format!("{method} {path}: no answer from {addr}"))??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").context("malformed HTTP answer")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    let value: Value = serde_json::from_str(body).context("the answer is not JSON")?;
    if !(200..300).contains(&status) {
        bail!("{}", value["error"].as_str().unwrap_or("request failed"));
    }
    Ok(value)
}
