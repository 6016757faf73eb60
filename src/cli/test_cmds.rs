//! `charter test`: a release's test hooks run, each one's run printed (and its Pods' logs).

use std::time::Duration;

use clap::Args;

use super::args::parse_duration;
use super::progress::Reporter;
use super::release_cmds::short_lock;
use super::{CmdResult, GlobalArgs};
use crate::action::ReleaseRef;
use crate::action::test::{self, TestRequest};
use crate::release::hooks::TestFilter;

/// `charter test` flags.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// Print each test Pod's logs.
    #[arg(long)]
    pub logs: bool,
    /// Which tests run, by name: `name=X` runs only X, `!name=X` leaves X out (comma-separated
    /// or repeated), as Helm's --filter.
    #[arg(long, value_name = "name=X,!name=Y", value_delimiter = ',')]
    pub filter: Vec<String>,
    /// How long each test may run.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<Duration>,
}

/// `charter test`: runs the release's test hooks, prints each one's run (and logs); exit 1
/// when one failed.
pub fn test(global: &GlobalArgs, args: TestArgs) -> CmdResult {
    let globals = global.globals();
    let req = TestRequest {
        release: ReleaseRef::from_arg(&globals, &args.release)?,
        filter: TestFilter::parse(&args.filter).map_err(crate::action::Error::Invalid)?,
        timeout: args.timeout,
        logs: args.logs,
        lock: short_lock(args.wait_for_lock),
    };
    let rep = Reporter::new();
    let done = test::run(&globals, &req, &|p| rep.report(p));
    rep.finish();
    let done = done?;
    let r = &done.record;
    outln!(
        "NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nCHART: {}-{}",
        r.name,
        r.namespace,
        r.revision,
        r.status,
        r.chart.name,
        r.chart.version
    )?;
    if done.runs.is_empty() && done.failure.is_none() {
        outln!(
            "TEST SUITE: none (the revision has no test hooks{})",
            if args.filter.is_empty() {
                ""
            } else {
                " that --filter admits"
            }
        )?;
    }
    for t in &done.runs {
        let run = t.hook.last_run.clone().unwrap_or_default();
        outln!(
            "TEST SUITE:     {}/{}\nLast Started:   {}\nLast Completed: {}\nPhase:          {}",
            t.hook.kind,
            t.hook.name,
            run.started_at,
            run.completed_at,
            run.phase
        )?;
    }
    for t in &done.runs {
        for (container, log) in &t.logs {
            outln!("\nPOD LOGS: {} (container {container})", t.hook.name)?;
            match log {
                Ok(text) => out!(
                    "{}",
                    if text.is_empty() || text.ends_with('\n') {
                        text.clone()
                    } else {
                        format!("{text}\n")
                    }
                )?,
                Err(e) => outln!("(no log: {e})")?,
            }
        }
    }
    match done.failure {
        Some(e) => Err(e.into()),
        None => Ok(0),
    }
}
