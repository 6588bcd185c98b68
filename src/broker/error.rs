//! [`BrokerError`]: every way a broker request fails, and the RocketMQ response code and remark
//! it becomes (protocol.md §2.2). Handlers return `Result<Outbound, BrokerError>` and use `?`;
//! the dispatcher turns an error into the response once.

use std::fmt::Display;

use sluice_dataflows::PipelineError;
use sluice_remoting::codes::response;
use sluice_remoting::{HeaderError, RemotingCommand};
use sluice_storage::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A header field is missing or malformed: SYSTEM_ERROR naming the field, as 4.9 answers.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A request body that does not parse.
    #[error("bad {what} body: {reason}")]
    Body { what: &'static str, reason: String },
    /// A refusal with RocketMQ's own code and remark (NO_PERMISSION, TOPIC_NOT_EXIST, …).
    #[error("{remark}")]
    Refused { code: i32, remark: String },
    /// The pipeline did not take a unit (SYSTEM_BUSY, or SERVICE_NOT_AVAILABLE when stopping).
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A write that could not complete (I/O error, shutdown): SERVICE_NOT_AVAILABLE, so that
    /// clients retry another broker.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: SYSTEM_ERROR with the text as remark.
    #[error("{0}")]
    System(String),
}

impl BrokerError {
    /// A refusal with `code` and `remark`.
    pub fn refused(code: i32, remark: impl Into<String>) -> BrokerError {
        BrokerError::Refused {
            code,
            remark: remark.into(),
        }
    }

    /// SYSTEM_ERROR with `remark`.
    pub fn system(remark: impl Display) -> BrokerError {
        BrokerError::System(remark.to_string())
    }

    /// A body that did not parse.
    pub fn body(what: &'static str, reason: impl Display) -> BrokerError {
        BrokerError::Body {
            what,
            reason: reason.to_string(),
        }
    }

    /// The response code this error is answered with.
    pub fn code(&self) -> i32 {
        match self {
            BrokerError::Header(_) | BrokerError::Body { .. } | BrokerError::System(_) => {
                response::SYSTEM_ERROR
            }
            BrokerError::Refused { code, .. } => *code,
            BrokerError::Pipeline(PipelineError::Busy { .. } | PipelineError::DispatchBehind { .. }) => {
                response::SYSTEM_BUSY
            }
            BrokerError::Pipeline(PipelineError::Stopped) | BrokerError::Unavailable(_) => {
                response::SERVICE_NOT_AVAILABLE
            }
            BrokerError::Store(e) => match e {
                StoreError::MessageTooLarge { .. }
                | StoreError::LargerThanSegment { .. }
                | StoreError::Encode(_) => response::MESSAGE_ILLEGAL,
                // A full disk: SERVICE_NOT_AVAILABLE as Java answers, so clients try another
                // broker; sends are taken again as soon as space returns.
                StoreError::Closed => response::SERVICE_NOT_AVAILABLE,
                e if e.is_disk_full() => response::SERVICE_NOT_AVAILABLE,
                _ => response::SYSTEM_ERROR,
            },
        }
    }

    /// The response to `cmd` that reports this error.
    pub fn response_to(&self, cmd: &RemotingCommand) -> RemotingCommand {
        cmd.error_response(self.code(), self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_remarks() {
        let cmd = RemotingCommand::request(10);
        let e = BrokerError::from(HeaderError::Missing { field: "topic" });
        let r = e.response_to(&cmd);
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert_eq!(r.remark.as_deref(), Some("the custom field <topic> is null"));
        let e = BrokerError::refused(response::TOPIC_NOT_EXIST, "topic[T] not exist");
        assert_eq!(e.code(), response::TOPIC_NOT_EXIST);
        assert_eq!(e.to_string(), "topic[T] not exist");
        assert_eq!(
            BrokerError::from(PipelineError::Stopped).code(),
            response::SERVICE_NOT_AVAILABLE
        );
        assert_eq!(
            BrokerError::from(PipelineError::DispatchBehind { behind: 1 }).code(),
            response::SYSTEM_BUSY
        );
        assert_eq!(
            BrokerError::from(StoreError::MessageTooLarge { size: 2, max: 1 }).code(),
            response::MESSAGE_ILLEGAL
        );
        let full = StoreError::Io {
            context: "appending".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        assert_eq!(BrokerError::from(full).code(), response::SERVICE_NOT_AVAILABLE);
    }
}
