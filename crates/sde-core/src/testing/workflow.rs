//! The `Workflow` contract, in two parts, because moto cannot show every behaviour:
//!
//! | part | what it checks | runs against |
//! |---|---|---|
//! | [`workflow_contract`] | an execution is described while it waits (ARN, state machine, name, status, its input exactly as started — the owner `report-status` checks among it) and once it ends (the answer sent as its output, or the error of a failure, and a stop date); a task token completes its task once, and a second answer is [`TaskClosed`](WorkflowErrorKind::TaskClosed); an unknown token is `TaskClosed` too; a name is used once, whatever the input, and stays used after its execution ends ([`AlreadyExists`](WorkflowErrorKind::AlreadyExists)); an unknown or malformed ARN is [`NotFound`](WorkflowErrorKind::NotFound) | `LocalWorkflow` (sde-local's unit tests); `SfnWorkflow` against moto's Step Functions in execute mode (sde-aws's tests) |
//! | [`stop_and_list_contract`] | `execution_arn` names the ARN `start` returns; a stopped execution ends ABORTED without output, a second stop succeeds and leaves it ABORTED, stopping an unknown ARN is `NotFound`; executions are listed by name prefix, newest first, from a start time on, running and ended alike | `LocalWorkflow` over [`waiting_definition`]; `SfnWorkflow` on moto over a one-`Wait` machine: moto 5.2.5 does not end an execution stopped while a task waits for its token (it reads RUNNING until the wait ends) |
//! | [`task_answer_contract`] | how a waiting task takes answers beyond that: of two answers racing for one task exactly one wins and the other is `TaskClosed` (what the push path's race relies on); a closed task refuses a failure as well as a success; a failure's cause becomes the execution's cause | `LocalWorkflow` only. moto 5.2.5 shows none of the three: while an execution runs it takes every `SendTaskSuccess` (a later answer overwrites an earlier, so both racers succeed), it takes `SendTaskFailure` on a token it has seen even after the execution ended, and it drops the cause of a `SendTaskFailure`. Also here, for the same reason: a stop's error and cause become the execution's, and a stop closes the waiting task (moto records neither, and keeps a stopped waiting execution RUNNING) |
//!
//! Every check runs executions of [`waiting_definition`]: one task that hands its token to a
//! Lambda function and waits for an answer. The caller creates the state machine from it (naming
//! whatever function its engine can invoke) and reads the tokens through [`WaitingTasks`]. Checks
//! poll rather than assume timing, since moto runs executions on a thread of its own.
//!
//! Not checked: starting a name again with the *same* input while its execution runs. Step
//! Functions (and moto) answer that with the running execution's ARN; the local interpreter
//! refuses it. Exports are always started under a fresh name, so neither answer is relied on.

use crate::{ExecutionDescription, ExecutionStatus, Workflow, WorkflowErrorKind};
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use std::time::Duration;

/// A state machine of one task, `WaitForAnswer`, that invokes the Lambda function `function`
/// (a name or an ARN) with `{"taskToken": <its token>}` and waits for an answer
/// (`arn:aws:states:::lambda:invoke.waitForTaskToken`). The answer is the execution's output.
pub fn waiting_definition(function: &str) -> String {
    json!({
        "Comment": "The Workflow contract's state machine: one task waiting for its token.",
        "StartAt": "WaitForAnswer",
        "States": {
            "WaitForAnswer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": function,
                    "Payload": {"taskToken.$": "$$.Task.Token"}
                },
                // A check that fails midway leaves its executions waiting; they end on their own.
                "TimeoutSeconds": 600,
                "End": true
            }
        }
    })
    .to_string()
}

/// Reads the task tokens of executions of [`waiting_definition`].
#[async_trait]
pub trait WaitingTasks: Send + Sync {
    /// The token the waiting task of `execution_arn` handed its function, once it has (wait
    /// for it); an answer sent with it from then on must reach the task.
    async fn token(&self, execution_arn: &str) -> String;
}

/// How long a check waits for an engine to move on.
const PATIENCE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// Describes `arn` until it is no longer running.
async fn until_finished(workflow: &dyn Workflow, arn: &str) -> ExecutionDescription {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let description = workflow.describe(arn).await.unwrap();
        if description.status.is_finished() {
            return description;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "execution {arn} still runs after {PATIENCE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The state machine an execution ARN names:
/// `arn:…:execution:<machine>:<name>` → `arn:…:stateMachine:<machine>`.
fn state_machine_of(execution_arn: &str) -> String {
    let (machine, _name) = execution_arn.rsplit_once(':').unwrap();
    machine.replacen(":execution:", ":stateMachine:", 1)
}

/// An execution input as `download-request` starts one: the owner whose `sub`
/// `report-status` checks, criteria with quotes and non-ASCII text, and the export id.
fn export_input(name: &str) -> Value {
    json!({
        "type": "push",
        "searchCriteria": {"type": "posts", "results": 10, "page": 0,
            "search": [{"value": "\"cats\" — ünïcödé 🐈"}, {"dateRange": ["2019-07-21T00:00:00Z", null]}]},
        "options": {"format": "csv", "columns": ["UserID", "Content"]},
        "owner": {"sub": "3f2a9c1e-7b4d-4e8a-9f60-1c2d3e4f5a6b", "email": "ada@example.com"},
        "exportId": name
    })
}

/// Runs [`workflow_contract`]'s checks against `workflow`, whose state machine is
/// [`waiting_definition`]; `tasks` reads the tokens of its executions.
pub async fn workflow_contract(workflow: &dyn Workflow, tasks: &dyn WaitingTasks) {
    an_execution_is_described_while_it_waits_and_ends_with_the_answer(workflow, tasks).await;
    a_failed_task_fails_its_execution_with_its_error(workflow, tasks).await;
    an_answered_task_refuses_a_second_answer(workflow, tasks).await;
    an_unknown_token_is_task_closed(workflow).await;
    an_execution_name_is_used_once(workflow, tasks).await;
    an_unknown_execution_is_not_found(workflow, tasks).await;
}

/// Runs [`stop_and_list_contract`]'s checks against `workflow`, whose executions must keep
/// running until stopped (or for minutes): those of [`waiting_definition`], or of one `Wait`.
pub async fn stop_and_list_contract(workflow: &dyn Workflow) {
    a_stopped_execution_ends_aborted_and_a_second_stop_changes_nothing(workflow).await;
    executions_are_listed_by_name_prefix_newest_first_from_a_time_on(workflow).await;
}

/// Runs [`task_answer_contract`]'s checks, as [`workflow_contract`] does.
pub async fn task_answer_contract(workflow: &dyn Workflow, tasks: &dyn WaitingTasks) {
    of_two_answers_racing_for_one_task_exactly_one_wins(workflow, tasks).await;
    a_stop_s_error_and_cause_are_the_execution_s(workflow, tasks).await;
    a_closed_task_refuses_a_failure_too(workflow, tasks).await;
    a_failure_s_cause_is_the_execution_s_cause(workflow, tasks).await;
}

async fn an_execution_is_described_while_it_waits_and_ends_with_the_answer(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    let name = super::unique("described");
    let input = export_input(&name);
    let before = Utc::now() - chrono::Duration::seconds(60);
    let arn = workflow.start(&name, input.clone()).await.unwrap();
    assert!(
        arn.starts_with("arn:")
            && arn.contains(":execution:")
            && arn.ends_with(&format!(":{name}")),
        "an execution ARN names the execution: {arn}"
    );
    let token = tasks.token(&arn).await;

    let waiting = workflow.describe(&arn).await.unwrap();
    assert_eq!(waiting.execution_arn, arn);
    assert_eq!(waiting.state_machine_arn, state_machine_of(&arn));
    assert_eq!(waiting.name, name);
    assert_eq!(waiting.status, ExecutionStatus::Running);
    assert_eq!(
        waiting.input, input,
        "the input comes back exactly as started"
    );
    assert_eq!(
        (
            &waiting.output,
            &waiting.error,
            &waiting.cause,
            waiting.stop_date
        ),
        (&None, &None, &None, None),
        "a waiting execution has no outcome yet"
    );
    assert!(
        before <= waiting.start_date
            && waiting.start_date <= Utc::now() + chrono::Duration::seconds(60),
        "the start date is when it started: {}",
        waiting.start_date
    );

    let answer = json!({"reportURL": "https://exports.example.com/files/ünï.csv?expires=1&sig=a%2Fb", "rows": 1234, "bytes": 56789});
    workflow
        .send_task_success(&token, answer.clone())
        .await
        .unwrap();
    let done = until_finished(workflow, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(answer), "the answer is the output");
    assert_eq!(done.input, input);
    assert_eq!((done.error, done.cause), (None, None));
    assert_eq!(done.start_date, waiting.start_date);
    let stopped = done.stop_date.expect("an ended execution has a stop date");
    assert!(stopped >= done.start_date);
}

async fn a_failed_task_fails_its_execution_with_its_error(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    let name = super::unique("failed");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .send_task_failure(&token, "Push.ClientGone", "the browser closed")
        .await
        .unwrap();
    let done = until_finished(workflow, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Push.ClientGone"));
    assert_eq!(done.output, None, "a failed execution has no output");
    assert!(done.stop_date.is_some());
}

async fn an_answered_task_refuses_a_second_answer(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    // Answered with a success: a second success is refused and changes nothing.
    let name = super::unique("answered");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .send_task_success(&token, json!({"delivered": "first"}))
        .await
        .unwrap();
    a_later_success_is_refused(workflow, &arn, &token, "the first answer stands").await;

    // Answered with a failure: a later success is refused too.
    let name = super::unique("failed-once");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .send_task_failure(&token, "Push.ClientGone", "gone")
        .await
        .unwrap();
    a_later_success_is_refused(workflow, &arn, &token, "the failure stands").await;
}

/// Once the execution `arn` has moved on from its answered task `token`, another success is
/// refused as `TaskClosed` and the execution stays as the first answer left it.
async fn a_later_success_is_refused(
    workflow: &dyn Workflow,
    arn: &str,
    token: &str,
    first_answer: &str,
) {
    // Only once the execution has moved on is the token surely closed: an engine running
    // executions on a thread of its own may take the first answer a moment later.
    let first = until_finished(workflow, arn).await;
    let second = workflow
        .send_task_success(token, json!({"delivered": "late"}))
        .await
        .unwrap_err();
    assert_eq!(second.kind, WorkflowErrorKind::TaskClosed, "{second}");
    assert_eq!(
        workflow.describe(arn).await.unwrap(),
        first,
        "{first_answer}"
    );
}

async fn an_unknown_token_is_task_closed(workflow: &dyn Workflow) {
    let error = workflow
        .send_task_success("no-such-token", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::TaskClosed, "{error}");
    let error = workflow
        .send_task_failure("no-such-token", "Failed", "cause")
        .await
        .unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::TaskClosed, "{error}");
}

async fn an_execution_name_is_used_once(workflow: &dyn Workflow, tasks: &dyn WaitingTasks) {
    let name = super::unique("once");
    let input = export_input(&name);
    let arn = workflow.start(&name, input.clone()).await.unwrap();
    let token = tasks.token(&arn).await;

    let other_input = json!({"type": "direct", "exportId": name});
    let error = workflow
        .start(&name, other_input.clone())
        .await
        .unwrap_err();
    assert_eq!(
        error.kind,
        WorkflowErrorKind::AlreadyExists,
        "a running execution's name with another input: {error}"
    );

    workflow.send_task_success(&token, json!({})).await.unwrap();
    until_finished(workflow, &arn).await;
    for again in [input.clone(), other_input] {
        let error = workflow.start(&name, again).await.unwrap_err();
        assert_eq!(
            error.kind,
            WorkflowErrorKind::AlreadyExists,
            "an ended execution's name stays used: {error}"
        );
    }
    let described = workflow.describe(&arn).await.unwrap();
    assert_eq!(
        (described.status, described.input),
        (ExecutionStatus::Succeeded, input),
        "a refused start leaves the first execution as it was"
    );
}

async fn an_unknown_execution_is_not_found(workflow: &dyn Workflow, tasks: &dyn WaitingTasks) {
    // A well-formed ARN of this very state machine, with a name never started.
    let name = super::unique("known");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let unknown = format!("{arn}-never-started");
    for arn in [unknown.as_str(), "not-an-arn"] {
        let error = workflow.describe(arn).await.unwrap_err();
        assert_eq!(error.kind, WorkflowErrorKind::NotFound, "{arn}: {error}");
    }
    let token = tasks.token(&arn).await;
    workflow.send_task_success(&token, json!({})).await.unwrap();
    until_finished(workflow, &arn).await;
}

async fn of_two_answers_racing_for_one_task_exactly_one_wins(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    let name = super::unique("raced");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    let (one, two) = tokio::join!(
        workflow.send_task_success(&token, json!({"winner": 1})),
        workflow.send_task_success(&token, json!({"winner": 2})),
    );
    let outcomes = [one, two];
    let won = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(
        won, 1,
        "exactly one of two racing answers wins: {outcomes:?}"
    );
    for lost in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        assert_eq!(lost.kind, WorkflowErrorKind::TaskClosed, "{lost}");
    }
    let done = until_finished(workflow, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert!(
        [json!({"winner": 1}), json!({"winner": 2})].contains(done.output.as_ref().unwrap()),
        "the output is one of the answers: {:?}",
        done.output
    );
}

async fn a_closed_task_refuses_a_failure_too(workflow: &dyn Workflow, tasks: &dyn WaitingTasks) {
    let name = super::unique("closed");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .send_task_success(&token, json!({"delivered": true}))
        .await
        .unwrap();
    let first = until_finished(workflow, &arn).await;
    let late = workflow
        .send_task_failure(&token, "Push.ClientGone", "too late")
        .await
        .unwrap_err();
    assert_eq!(late.kind, WorkflowErrorKind::TaskClosed, "{late}");
    assert_eq!(
        workflow.describe(&arn).await.unwrap(),
        first,
        "the success stands"
    );
}

async fn a_failure_s_cause_is_the_execution_s_cause(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    let name = super::unique("caused");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .send_task_failure(&token, "Push.ClientGone", "the browser closed — ünï")
        .await
        .unwrap();
    let done = until_finished(workflow, &arn).await;
    assert_eq!(
        (done.status, done.error.as_deref(), done.cause.as_deref()),
        (
            ExecutionStatus::Failed,
            Some("Push.ClientGone"),
            Some("the browser closed — ünï")
        )
    );
}

async fn a_stopped_execution_ends_aborted_and_a_second_stop_changes_nothing(
    workflow: &dyn Workflow,
) {
    let name = super::unique("stopped");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    assert_eq!(workflow.execution_arn(&name), arn, "execution_arn names it");

    workflow
        .stop(&arn, "Export.Cancelled", "cancelled by its owner")
        .await
        .unwrap();
    let done = until_finished(workflow, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Aborted);
    assert_eq!(done.output, None, "a stopped execution has no output");
    assert!(done.stop_date.is_some());

    workflow
        .stop(&arn, "Export.Cancelled", "again")
        .await
        .expect("stopping an ended execution succeeds");
    let again = workflow.describe(&arn).await.unwrap();
    assert_eq!(
        (again.status, again.output),
        (ExecutionStatus::Aborted, None),
        "and leaves it as it ended"
    );
    let unknown = format!("{arn}-never-started");
    let error = workflow.stop(&unknown, "E", "c").await.unwrap_err();
    assert_eq!(error.kind, WorkflowErrorKind::NotFound, "{error}");
}

async fn a_stop_s_error_and_cause_are_the_execution_s(
    workflow: &dyn Workflow,
    tasks: &dyn WaitingTasks,
) {
    let name = super::unique("stopped-waiting");
    let arn = workflow.start(&name, export_input(&name)).await.unwrap();
    let token = tasks.token(&arn).await;
    workflow
        .stop(&arn, "Export.Cancelled", "cancelled by its owner — ünï")
        .await
        .unwrap();
    let done = until_finished(workflow, &arn).await;
    assert_eq!(
        (done.status, done.error.as_deref(), done.cause.as_deref()),
        (
            ExecutionStatus::Aborted,
            Some("Export.Cancelled"),
            Some("cancelled by its owner — ünï")
        )
    );
    let late = workflow
        .send_task_success(&token, json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        late.kind,
        WorkflowErrorKind::TaskClosed,
        "a stop closes its task: {late}"
    );
    workflow
        .stop(&arn, "Export.Cancelled", "again")
        .await
        .unwrap();
    assert_eq!(
        workflow.describe(&arn).await.unwrap(),
        done,
        "a second stop changes nothing"
    );
}

async fn executions_are_listed_by_name_prefix_newest_first_from_a_time_on(workflow: &dyn Workflow) {
    let prefix = format!("{}_", super::unique("lister"));
    let other = super::unique("unlisted");
    let since = Utc::now() - chrono::Duration::seconds(5);
    let mut started = Vec::new();
    for n in 0..2 {
        let name = format!("{prefix}{n}");
        started.push(workflow.start(&name, export_input(&name)).await.unwrap());
        // Start dates a clear second apart, so newest-first has one answer.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let unlisted = workflow.start(&other, export_input(&other)).await.unwrap();

    let newest_first: Vec<String> = started.iter().rev().cloned().collect();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let listed = loop {
        let listed = workflow.list_started_since(&prefix, since).await.unwrap();
        if listed.len() >= 2 || tokio::time::Instant::now() >= deadline {
            break listed;
        }
        tokio::time::sleep(POLL).await;
    };
    let arns: Vec<String> = listed.iter().map(|e| e.execution_arn.clone()).collect();
    assert_eq!(
        arns, newest_first,
        "only the prefix's executions, newest first"
    );
    let first = &listed[1];
    assert_eq!(first.name, format!("{prefix}0"));
    assert_eq!(first.status, ExecutionStatus::Running);
    assert!(since <= first.start_date && first.stop_date.is_none());

    let after_the_first = listed[1].start_date + chrono::Duration::milliseconds(500);
    let later: Vec<String> = workflow
        .list_started_since(&prefix, after_the_first)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.execution_arn)
        .collect();
    assert_eq!(
        later,
        vec![started[1].clone()],
        "none started before `since`"
    );

    for arn in started.iter().chain([&unlisted]) {
        workflow
            .stop(arn, "Contract.Done", "cleaning up")
            .await
            .unwrap();
        until_finished(workflow, arn).await;
    }
    let ended = workflow.list_started_since(&prefix, since).await.unwrap();
    assert!(
        ended.len() == 2 && ended.iter().all(|e| e.status == ExecutionStatus::Aborted),
        "ended executions are listed too, as they ended: {ended:?}"
    );
}
