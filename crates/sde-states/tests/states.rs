//! Behaviour of each state type and of input/output processing, each checked against the rule
//! the AWS Step Functions developer guide states (quoted or paraphrased in a comment).

// Test helpers panic on broken fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{FN_ARN, engine, run, scripted};
use sde_states::{EngineError, ExecutionStatus, TaskError, TaskRegistry};
use serde_json::{Value, json};

fn task(resource: &str, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    state
}

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

fn echo(registry: &TaskRegistry) {
    registry.register_fn("echo", |_, input| async move { Ok(input) });
}

// ---------- Pass ----------

#[tokio::test]
async fn pass_result_replaces_the_input_unless_result_path_places_it() {
    // Pass: "Result … treated as the output of a virtual task"; ResultPath "$" (default) replaces the input.
    let r = TaskRegistry::new();
    let out = run(
        one_state(json!({"Type": "Pass", "Result": {"x": 1}, "End": true})),
        &r,
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, Some(json!({"x": 1})));
    // ResultPath "$.r": "the result is inserted into the input".
    let out = run(
        one_state(json!({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r.s", "End": true})),
        &r,
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, Some(json!({"a": 1, "r": {"s": {"x": 1}}})));
}

#[tokio::test]
async fn pass_without_result_outputs_its_effective_input_after_parameters() {
    let r = TaskRegistry::new();
    let def = one_state(
        json!({"Type": "Pass", "InputPath": "$.in", "Parameters": {"v.$": "$.v", "k": "c"}, "End": true}),
    );
    let out = run(def, &r, json!({"in": {"v": 7}})).await;
    assert_eq!(out.output, Some(json!({"v": 7, "k": "c"})));
}

// ---------- InputPath / OutputPath / ResultPath / ResultSelector / Parameters ----------

#[tokio::test]
async fn input_path_null_gives_an_empty_object_and_output_path_null_outputs_an_empty_object() {
    // "If InputPath is null, the input is discarded and the effective input is {}"; same for OutputPath.
    let r = TaskRegistry::new();
    let out = run(
        one_state(json!({"Type": "Pass", "InputPath": null, "End": true})),
        &r,
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, Some(json!({})));
    let out = run(
        one_state(json!({"Type": "Pass", "OutputPath": null, "End": true})),
        &r,
        json!({"a": 1}),
    )
    .await;
    assert_eq!(out.output, Some(json!({})));
}

#[tokio::test]
async fn output_path_selects_part_of_the_state_output() {
    let r = TaskRegistry::new();
    let def = one_state(
        json!({"Type": "Pass", "Result": 5, "ResultPath": "$.n", "OutputPath": "$.n", "End": true}),
    );
    assert_eq!(run(def, &r, json!({"a": 1})).await.output, Some(json!(5)));
}

#[tokio::test]
async fn result_path_null_discards_the_task_result_and_keeps_the_input() {
    let r = TaskRegistry::new();
    r.register_fn("f", |_, _| async { Ok(json!("ignored")) });
    let def = one_state(task(&format!("{FN_ARN}f"), json!({"ResultPath": null})));
    assert_eq!(
        run(def, &r, json!({"keep": true})).await.output,
        Some(json!({"keep": true}))
    );
}

#[tokio::test]
async fn result_selector_shapes_the_raw_result_before_result_path_applies() {
    // Order: InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath.
    let r = TaskRegistry::new();
    r.register_fn("f", |_, input| async move {
        Ok(json!({"big": {"id": input["q"]}, "noise": 1}))
    });
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "InputPath": "$.req", "Parameters": {"q.$": "$.query"},
            "ResultSelector": {"id.$": "$.big.id"}, "ResultPath": "$.req.answer", "OutputPath": "$.req"
        }),
    ));
    let out = run(def, &r, json!({"req": {"query": "cats"}, "other": 1})).await;
    assert_eq!(
        out.output,
        Some(json!({"query": "cats", "answer": {"id": "cats"}}))
    );
}

#[tokio::test]
async fn parameters_read_the_context_object_with_double_dollar_paths() {
    // Context object: $$.Execution.Id/Name/Input/StartTime, $$.State.Name/EnteredTime/RetryCount, $$.StateMachine.Id.
    let r = TaskRegistry::new();
    let def = one_state(json!({"Type": "Pass", "End": true, "Parameters": {
        "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input",
        "state.$": "$$.State.Name", "retries.$": "$$.State.RetryCount", "machine.$": "$$.StateMachine.Id",
        "entered.$": "$$.State.EnteredTime", "msg.$": "States.Format('hello {}', $.who)"
    }}));
    let out = run(def, &r, json!({"who": "ann"})).await.output.unwrap();
    assert_eq!(
        out["id"],
        json!("arn:aws:states:us-east-1:123456789012:execution:download-request:test")
    );
    assert_eq!(out["name"], json!("test"));
    assert_eq!(out["input"], json!({"who": "ann"}));
    assert_eq!(out["state"], json!("S"));
    assert_eq!(out["retries"], json!(0));
    assert_eq!(
        out["machine"],
        json!("arn:aws:states:us-east-1:123456789012:stateMachine:download-request")
    );
    assert!(out["entered"].as_str().unwrap().ends_with('Z'));
    assert_eq!(out["msg"], json!("hello ann"));
}

#[tokio::test]
async fn result_path_into_a_non_object_fails_with_result_path_match_failure_which_catch_handles() {
    // States.ResultPathMatchFailure: "Step Functions failed to apply a state's ResultPath field to the input".
    let r = TaskRegistry::new();
    echo(&r);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": format!("{FN_ARN}echo"), "ResultPath": "$.a.b", "End": true,
              "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let out = run(def, &r, json!({"a": "text"})).await;
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(
        out.output.unwrap()["Error"],
        json!("States.ResultPathMatchFailure")
    );
}

#[tokio::test]
async fn a_path_that_selects_nothing_fails_with_states_runtime_which_states_all_does_not_catch() {
    // States.Runtime: "… attempting to apply InputPath or OutputPath on a null JSON payload. A States.Runtime
    // error isn't retriable, and will always cause the execution to fail. A retry or catch on States.ALL
    // won't catch States.Runtime errors."
    let r = TaskRegistry::new();
    echo(&r);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": format!("{FN_ARN}echo"), "InputPath": "$.missing", "End": true,
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Succeed"}}});
    let out = run(def, &r, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("States.Runtime"));
}

// ---------- Task ----------

#[tokio::test]
async fn a_direct_lambda_task_receives_the_effective_input_and_returns_the_raw_result() {
    let r = TaskRegistry::new();
    r.register_fn("generateCsv", |ctx, input| async move {
        Ok(json!({"got": input, "state": ctx.state_name, "token": ctx.task_token}))
    });
    // Both the plugin form (Fn::GetAtt) and the deployed ARN form resolve to the logical name.
    for resource in [
        json!({"Fn::GetAtt": ["generateCsv", "Arn"]}),
        json!(format!("{FN_ARN}generateCsv")),
    ] {
        let def = one_state(json!({"Type": "Task", "Resource": resource, "End": true}));
        let out = run(def, &r, json!({"a": 1})).await;
        assert_eq!(
            out.output,
            Some(json!({"got": {"a": 1}, "state": "S", "token": null}))
        );
    }
}

#[tokio::test]
async fn lambda_invoke_integration_passes_the_payload_and_wraps_the_result_like_aws() {
    // Optimized Lambda integration: the result is the Invoke API response, {"Payload": …, "StatusCode": 200, …}.
    let r = TaskRegistry::new();
    r.register_fn("generateCsv", |_, input| async move {
        Ok(json!({"echo": input}))
    });
    let def = one_state(task(
        "arn:aws:states:::lambda:invoke",
        json!({
            "Parameters": {"FunctionName": {"Fn::GetAtt": ["generateCsv", "Arn"]}, "Payload.$": "$"}
        }),
    ));
    let out = run(def, &r, json!({"a": 1})).await.output.unwrap();
    assert_eq!(out["Payload"], json!({"echo": {"a": 1}}));
    assert_eq!(out["StatusCode"], json!(200));
}

#[tokio::test]
async fn a_task_whose_function_is_not_registered_fails_with_resource_not_found() {
    let r = TaskRegistry::new();
    let out = run(
        one_state(task(&format!("{FN_ARN}nobody"), json!({}))),
        &r,
        json!({}),
    )
    .await;
    assert_eq!(
        out.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
}

#[tokio::test]
async fn a_handler_error_fails_the_execution_with_its_error_name_and_cause() {
    let r = TaskRegistry::new();
    scripted(
        &r,
        "f",
        vec![Err(TaskError::new("Export.Failed", "index is gone"))],
    );
    let out = run(
        one_state(task(&format!("{FN_ARN}f"), json!({}))),
        &r,
        json!({}),
    )
    .await;
    assert_eq!(out.status, ExecutionStatus::Failed);
    assert_eq!(out.error.as_deref(), Some("Export.Failed"));
    assert_eq!(out.cause.as_deref(), Some("index is gone"));
}

// ---------- Retry ----------

fn timed_failures(
    r: &TaskRegistry,
    name: &str,
    fail_times: usize,
) -> Arc<Mutex<Vec<tokio::time::Instant>>> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    r.register_fn(name, move |_, _| {
        let seen = seen.clone();
        async move {
            let n = {
                let mut t = seen.lock().unwrap();
                t.push(tokio::time::Instant::now());
                t.len()
            };
            if n <= fail_times {
                Err(TaskError::new("Boom", format!("attempt {n}")))
            } else {
                Ok(json!(n))
            }
        }
    });
    times
}

fn gaps(times: &[tokio::time::Instant]) -> Vec<u64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_multiplies_interval_by_backoff_rate_per_attempt() {
    // Retrier: "BackoffRate: the multiplier by which the retry interval denoted by IntervalSeconds
    // increases after each retry attempt."
    let r = TaskRegistry::new();
    let times = timed_failures(&r, "f", 3);
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3}]
        }),
    ));
    let out = run(def, &r, json!({})).await;
    assert_eq!(out.output, Some(json!(4)));
    assert_eq!(gaps(&times.lock().unwrap()), vec![1000, 2000, 4000]);
}

#[tokio::test(start_paused = true)]
async fn retry_max_delay_seconds_caps_the_backoff_interval() {
    // Retrier: "MaxDelaySeconds: sets the maximum value, in seconds, up to which a retry interval can increase."
    let r = TaskRegistry::new();
    let times = timed_failures(&r, "f", 4);
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5, "MaxDelaySeconds": 5}]
        }),
    ));
    run(def, &r, json!({})).await;
    assert_eq!(gaps(&times.lock().unwrap()), vec![2000, 5000, 5000, 5000]);
}

#[tokio::test(start_paused = true)]
async fn retry_defaults_are_one_second_rate_two_and_three_attempts() {
    // Retrier defaults: IntervalSeconds 1, BackoffRate 2.0, MaxAttempts 3.
    let r = TaskRegistry::new();
    let times = timed_failures(&r, "f", 10);
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({"Retry": [{"ErrorEquals": ["Boom"]}]}),
    ));
    let out = run(def, &r, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("Boom"));
    assert_eq!(gaps(&times.lock().unwrap()), vec![1000, 2000, 4000]);
}

#[tokio::test(start_paused = true)]
async fn full_jitter_waits_a_random_time_no_longer_than_the_backoff() {
    // JitterStrategy FULL: "a random number between 0 and the computed backoff".
    let r = TaskRegistry::new();
    let times = timed_failures(&r, "f", 3);
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 10, "MaxAttempts": 3, "JitterStrategy": "FULL"}]
        }),
    ));
    run(def, &r, json!({})).await;
    let g = gaps(&times.lock().unwrap());
    assert!(g[0] <= 10_000 && g[1] <= 20_000 && g[2] <= 40_000, "{g:?}");
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_the_first_matching_retrier_alone_applies() {
    // "A value of 0 means that the error or errors are never retried." Retriers are scanned in order and
    // the first whose ErrorEquals matches is used; its exhaustion is not followed by a later retrier.
    let r = TaskRegistry::new();
    let calls = scripted(&r, "f", vec![Err(TaskError::new("Boom", "x"))]);
    let def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
        }),
    ));
    let out = run(def, &r, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("Boom"));
    assert_eq!(calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn each_retry_sees_an_incremented_state_retry_count() {
    let r = TaskRegistry::new();
    let counts = Arc::new(Mutex::new(Vec::new()));
    let seen = counts.clone();
    r.register_fn("f", move |ctx, input| {
        let seen = seen.clone();
        async move {
            seen.lock()
                .unwrap()
                .push((ctx.retry_count, input["n"].clone()));
            if ctx.retry_count < 2 {
                Err(TaskError::new("Again", ""))
            } else {
                Ok(json!("ok"))
            }
        }
    });
    let mut def = one_state(task(
        &format!("{FN_ARN}f"),
        json!({
            "Parameters": {"n.$": "$$.State.RetryCount"},
            "Retry": [{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "MaxAttempts": 2}]
        }),
    ));
    def["States"]["S"]["Retry"][0]["BackoffRate"] = json!(1);
    let e = engine(def, &r);
    let arn = e.start_execution("rc", json!({})).unwrap();
    tokio::time::pause();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(
        *counts.lock().unwrap(),
        vec![(0, json!(0)), (1, json!(1)), (2, json!(2))]
    );
}

// ---------- Catch ----------

#[tokio::test]
async fn catch_without_result_path_replaces_the_input_with_the_error_output() {
    // Catch: "ResultPath … If not specified, the error output replaces the input" ({"Error", "Cause"}).
    let r = TaskRegistry::new();
    scripted(&r, "f", vec![Err(TaskError::new("Export.Failed", "why"))]);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": format!("{FN_ARN}f"), "End": true,
              "Catch": [{"ErrorEquals": ["Other"], "Next": "Wrong"}, {"ErrorEquals": ["States.TaskFailed"], "Next": "C"}]},
        "Wrong": {"Type": "Fail"},
        "C": {"Type": "Pass", "End": true}}});
    let out = run(def, &r, json!({"a": 1})).await;
    assert_eq!(
        out.output,
        Some(json!({"Error": "Export.Failed", "Cause": "why"}))
    );
}

#[tokio::test]
async fn catch_result_path_keeps_the_input_and_adds_the_error_after_retries_are_exhausted() {
    // "When a state has both Retry and Catch fields, Step Functions uses any appropriate retriers first,
    // and only afterward applies the matching catcher transition if the retry policy fails."
    let r = TaskRegistry::new();
    let calls = scripted(
        &r,
        "f",
        vec![Err(TaskError::new("Export.Transient", "down"))],
    );
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": format!("{FN_ARN}f"), "End": true,
              "Retry": [{"ErrorEquals": ["Export.Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let e = engine(def, &r);
    tokio::time::pause();
    let arn = e.start_execution("c", json!({"a": 1})).unwrap();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(calls.lock().unwrap().len(), 3);
    assert_eq!(
        out.output,
        Some(json!({"a": 1, "failure": {"Error": "Export.Transient", "Cause": "down"}}))
    );
}

// ---------- TimeoutSeconds / HeartbeatSeconds ----------

#[tokio::test(start_paused = true)]
async fn a_task_running_past_timeout_seconds_fails_with_states_timeout_which_task_failed_does_not_catch()
 {
    // TimeoutSeconds: "If the task runs longer than the specified seconds, this state fails with a
    // States.Timeout error name." States.TaskFailed matches any error "except for States.Timeout".
    let r = TaskRegistry::new();
    r.register_fn("slow", |_, _| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!("late"))
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": format!("{FN_ARN}slow"), "TimeoutSeconds": 5, "End": true,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.Timeout"], "Next": "C"}]},
        "Wrong": {"Type": "Fail", "Error": "wrong"},
        "C": {"Type": "Pass", "End": true}}});
    let out = run(def, &r, json!({})).await;
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output.unwrap()["Error"], json!("States.Timeout"));
}

fn callback_definition(heartbeat: Option<u64>) -> Value {
    let mut state = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({
            "Parameters": {"FunctionName": "register", "Payload": {"token.$": "$$.Task.Token", "input.$": "$"}},
            "TimeoutSeconds": 100
        }),
    );
    if let Some(h) = heartbeat {
        state["HeartbeatSeconds"] = json!(h);
    }
    one_state(state)
}

fn token_sink(r: &TaskRegistry) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    r.register_fn("register", move |ctx, payload| {
        let tx = tx.clone();
        async move {
            assert_eq!(ctx.task_token.as_deref(), payload["token"].as_str());
            tx.send(payload["token"].as_str().unwrap().to_owned())
                .unwrap();
            Ok(json!({"ignored": true}))
        }
    });
    rx
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_without_heartbeats_fails_with_heartbeat_timeout() {
    // HeartbeatSeconds: "If more time than the specified seconds elapses between heartbeats from the task,
    // this state fails" (States.HeartbeatTimeout, which States.Timeout also matches).
    let r = TaskRegistry::new();
    let _tokens = token_sink(&r);
    let out = run(callback_definition(Some(10)), &r, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("States.HeartbeatTimeout"));
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_callback_task_alive_until_send_task_success() {
    let r = TaskRegistry::new();
    let mut tokens = token_sink(&r);
    let e = engine(callback_definition(Some(10)), &r);
    let arn = e.start_execution("hb", json!({})).unwrap();
    let token = tokens.recv().await.unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(8)).await;
        e.send_task_heartbeat(&token).unwrap();
    }
    e.send_task_success(&token, json!({"done": 1})).unwrap();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(out.output, Some(json!({"done": 1})));
}

#[tokio::test(start_paused = true)]
async fn wait_for_task_token_is_bounded_by_timeout_seconds() {
    let r = TaskRegistry::new();
    let _tokens = token_sink(&r);
    let out = run(callback_definition(None), &r, json!({})).await;
    assert_eq!(out.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test]
async fn send_task_failure_fails_the_callback_task_and_a_used_token_is_rejected() {
    // SendTaskFailure: the task fails with the given error and cause; a completed token is no longer valid.
    let r = TaskRegistry::new();
    let mut tokens = token_sink(&r);
    let e = engine(callback_definition(None), &r);
    let arn = e.start_execution("tf", json!({})).unwrap();
    let token = tokens.recv().await.unwrap();
    e.send_task_failure(&token, "Push.Gone", "client left")
        .unwrap();
    let out = e.wait(&arn).await.unwrap();
    assert_eq!(
        (out.error.as_deref(), out.cause.as_deref()),
        (Some("Push.Gone"), Some("client left"))
    );
    assert!(matches!(
        e.send_task_success(&token, json!({})),
        Err(EngineError::TaskDoesNotExist(_))
    ));
    assert!(matches!(
        e.send_task_heartbeat("nope"),
        Err(EngineError::TaskDoesNotExist(_))
    ));
}

#[tokio::test]
async fn a_handler_may_complete_its_own_token_during_the_invocation() {
    let r = TaskRegistry::new();
    let e = engine(callback_definition(None), &r);
    let engine_for_handler = e.clone();
    r.register_fn("register", move |ctx, _| {
        let e = engine_for_handler.clone();
        async move {
            e.send_task_success(ctx.task_token.as_deref().unwrap(), json!("immediate"))
                .unwrap();
            Ok(json!({}))
        }
    });
    let arn = e.start_execution("self", json!({})).unwrap();
    assert_eq!(e.wait(&arn).await.unwrap().output, Some(json!("immediate")));
}

// ---------- Choice ----------

#[tokio::test]
async fn choice_follows_the_first_matching_rule_then_default_then_fails_with_no_choice_matched() {
    // Choice: "Step Functions examines each of the Choice Rules in the order listed … and transitions to the
    // first match"; with no match and no Default the state fails with States.NoChoiceMatched.
    let r = TaskRegistry::new();
    let def = |default: bool| {
        let mut choice = json!({"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 5}, {"Not": {"Variable": "$.tag", "StringEquals": "skip"}}], "Next": "Medium"},
            {"Or": [{"Variable": "$.n", "NumericEquals": 0}, {"Variable": "$.n", "IsNull": true}], "Next": "Zero"}
        ]});
        if default {
            choice["Default"] = json!("Other");
        }
        json!({"StartAt": "C", "States": {
            "C": choice,
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Medium": {"Type": "Pass", "Result": "medium", "End": true},
            "Zero": {"Type": "Pass", "Result": "zero", "End": true},
            "Other": {"Type": "Pass", "Result": "other", "End": true}}})
    };
    for (input, expected) in [
        (json!({"n": 11, "tag": "skip"}), "big"),
        (json!({"n": 6, "tag": "x"}), "medium"),
        (json!({"n": 6, "tag": "skip"}), "other"),
        (json!({"n": 0, "tag": "x"}), "zero"),
    ] {
        assert_eq!(
            run(def(true), &r, input).await.output,
            Some(json!(expected))
        );
    }
    let out = run(def(false), &r, json!({"n": 3, "tag": "x"})).await;
    assert_eq!(out.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn choice_output_is_its_effective_input_filtered_by_output_path() {
    let r = TaskRegistry::new();
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "InputPath": "$.a", "OutputPath": "$.b",
              "Choices": [{"Variable": "$.b", "IsPresent": true, "Next": "D"}]},
        "D": {"Type": "Succeed"}}});
    assert_eq!(
        run(def, &r, json!({"a": {"b": 2}})).await.output,
        Some(json!(2))
    );
}

// ---------- Wait ----------

#[tokio::test(start_paused = true)]
async fn wait_pauses_for_seconds_or_seconds_path_and_passes_its_input_through() {
    let r = TaskRegistry::new();
    for state in [
        json!({"Type": "Wait", "Seconds": 30, "End": true}),
        json!({"Type": "Wait", "SecondsPath": "$.delay", "End": true}),
    ] {
        let started = tokio::time::Instant::now();
        let out = run(one_state(state), &r, json!({"delay": 30})).await;
        assert_eq!(out.output, Some(json!({"delay": 30})));
        assert_eq!(started.elapsed().as_secs(), 30);
    }
}

#[tokio::test]
async fn wait_until_a_past_timestamp_does_not_wait() {
    // Wait Timestamp: "wait until an absolute time"; a time already passed continues at once.
    let r = TaskRegistry::new();
    let out = run(
        one_state(json!({"Type": "Wait", "TimestampPath": "$.at", "End": true})),
        &r,
        json!({"at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    let out = run(
        one_state(json!({"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z", "End": true})),
        &r,
        json!({}),
    )
    .await;
    assert_eq!(out.status, ExecutionStatus::Succeeded);
}

// ---------- Succeed / Fail ----------

#[tokio::test]
async fn succeed_stops_the_execution_successfully_with_its_processed_input() {
    let r = TaskRegistry::new();
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.x"}}});
    let out = run(def, &r, json!({"x": [1]})).await;
    assert_eq!(
        (out.status, out.output),
        (ExecutionStatus::Succeeded, Some(json!([1])))
    );
}

#[tokio::test]
async fn fail_stops_the_execution_with_its_error_and_cause_or_their_paths() {
    // Fail: Error/Cause, or ErrorPath/CausePath (a reference path or an intrinsic function).
    let r = TaskRegistry::new();
    let out = run(
        one_state(json!({"Type": "Fail", "Error": "E", "Cause": "C"})),
        &r,
        json!({}),
    )
    .await;
    assert_eq!(
        (out.status, out.error.as_deref(), out.cause.as_deref()),
        (ExecutionStatus::Failed, Some("E"), Some("C"))
    );
    let def = one_state(
        json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('because {}', $.why)"}),
    );
    let out = run(def, &r, json!({"e": "Dyn", "why": "reasons"})).await;
    assert_eq!(
        (out.error.as_deref(), out.cause.as_deref()),
        (Some("Dyn"), Some("because reasons"))
    );
}

// ---------- Parallel ----------

#[tokio::test]
async fn parallel_outputs_an_array_of_branch_outputs_in_branch_order() {
    // Parallel: "The output of a Parallel state is an array containing the output of each branch", in order.
    let r = TaskRegistry::new();
    r.register_fn("slow", |_, input| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(json!({"slow": input}))
    });
    let def = one_state(
        json!({"Type": "Parallel", "End": true, "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": format!("{FN_ARN}slow"), "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "fast", "End": true}}}
        ]}),
    );
    let out = run(def, &r, json!(1)).await;
    assert_eq!(
        out.output,
        Some(json!({"first": {"slow": 1}, "second": "fast"}))
    );
}

#[tokio::test]
async fn a_failing_branch_fails_the_parallel_state_which_its_catch_handles() {
    // "If any branch fails … the entire Parallel state fails"; Parallel supports Retry and Catch.
    let r = TaskRegistry::new();
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": true,
              "Branches": [
                  {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1000, "End": true}}},
                  {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "b"}}}],
              "Catch": [{"ErrorEquals": ["Branch.Broke"], "ResultPath": "$.err", "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let out = run(def, &r, json!({"in": 1})).await;
    assert_eq!(
        out.output,
        Some(json!({"in": 1, "err": {"Error": "Branch.Broke", "Cause": "b"}}))
    );
}

// ---------- Map ----------

#[tokio::test]
async fn map_runs_the_item_processor_per_item_with_item_selector_and_keeps_order() {
    // Map: ItemsPath selects the array; ItemSelector may use $$.Map.Item.Index and $$.Map.Item.Value;
    // the output is an array of the iterations' outputs in item order.
    let r = TaskRegistry::new();
    r.register_fn("slowFirst", |_, input| async move {
        if input["index"] == json!(0) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(json!(format!(
            "{}:{}",
            input["index"], input["value"]["id"]
        )))
    });
    let def = one_state(json!({"Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "shared.$": "$.shared"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
            "States": {"P": {"Type": "Task", "Resource": format!("{FN_ARN}slowFirst"), "End": true}}},
        "ResultPath": "$.results"}));
    let out = run(
        def,
        &r,
        json!({"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "shared": 1}),
    )
    .await;
    assert_eq!(
        out.output.unwrap()["results"],
        json!(["0:\"a\"", "1:\"b\"", "2:\"c\""])
    );
}

#[tokio::test]
async fn map_max_concurrency_limits_parallel_iterations() {
    let r = TaskRegistry::new();
    let running = Arc::new(Mutex::new((0usize, 0usize)));
    let seen = running.clone();
    r.register_fn("track", move |_, input| {
        let seen = seen.clone();
        async move {
            {
                let mut s = seen.lock().unwrap();
                s.0 += 1;
                s.1 = s.1.max(s.0);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen.lock().unwrap().0 -= 1;
            Ok(input)
        }
    });
    // Legacy field names (Iterator, Parameters) are accepted too.
    let def = one_state(json!({"Type": "Map", "End": true, "MaxConcurrency": 2,
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Task", "Resource": format!("{FN_ARN}track"), "End": true}}}}));
    let out = run(def, &r, json!([1, 2, 3, 4, 5])).await;
    assert_eq!(
        out.output,
        Some(json!([{"v": 1}, {"v": 2}, {"v": 3}, {"v": 4}, {"v": 5}]))
    );
    assert_eq!(running.lock().unwrap().1, 2);
}

#[tokio::test]
async fn map_over_a_non_array_fails_with_states_runtime() {
    let r = TaskRegistry::new();
    let def = one_state(json!({"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}}));
    assert_eq!(
        run(def, &r, json!({"not": "array"})).await.error.as_deref(),
        Some("States.Runtime")
    );
}

/// A Map of `items` over one Task calling `function`, with `extra` fields on the Map state.
fn map_over(function: &str, extra: Value) -> Value {
    let mut state = json!({"Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "P",
            "States": {"P": {"Type": "Task", "Resource": format!("{FN_ARN}{function}"), "End": true}}}});
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": state, "Caught": {"Type": "Pass", "End": true}}})
}

#[tokio::test(start_paused = true)]
async fn map_keeps_max_concurrency_items_running_while_an_early_item_is_slow() {
    // MaxConcurrency is "the upper bound on the number of iterations that may run in parallel"; a
    // slow first item must not hold back the items after it. Item 0 finishes only once every
    // other item has finished, which an in-order window of two would never let happen.
    let r = TaskRegistry::new();
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0usize))); // (running, most at once, finished)
    let others_done = Arc::new(tokio::sync::Notify::new());
    let (seen, notify) = (counts.clone(), others_done.clone());
    r.register_fn("slowFirst", move |_, input| {
        let (seen, notify) = (seen.clone(), notify.clone());
        async move {
            {
                let mut s = seen.lock().unwrap();
                s.0 += 1;
                s.1 = s.1.max(s.0);
            }
            if input == json!(0) {
                let waiting = notify.notified();
                if seen.lock().unwrap().2 < 5 {
                    waiting.await;
                }
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut s = seen.lock().unwrap();
            s.0 -= 1;
            s.2 += 1;
            if s.2 == 5 && input != json!(0) {
                notify.notify_one();
            }
            Ok(input)
        }
    });
    let def = map_over("slowFirst", json!({"MaxConcurrency": 2}));
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run(def, &r, json!({"items": [0, 1, 2, 3, 4, 5]})),
    )
    .await
    .expect("the Map finishes while its first item waits for the others");
    assert_eq!(out.output, Some(json!([0, 1, 2, 3, 4, 5])));
    assert_eq!(counts.lock().unwrap().1, 2);
}

/// A handler that fails item 1 with `Item.Broke` on its first `failures` calls and never answers
/// for item 0, so only a Map that fails at the first failing item ends. Counts item 1's calls.
fn item_one_breaks(registry: &TaskRegistry, failures: usize) -> Arc<Mutex<usize>> {
    let calls = Arc::new(Mutex::new(0usize));
    let seen = calls.clone();
    registry.register_fn("itemOneBreaks", move |_, input| {
        let seen = seen.clone();
        async move {
            if input == json!(0) {
                std::future::pending::<()>().await;
            }
            if input == json!(1) {
                let mut calls = seen.lock().unwrap();
                *calls += 1;
                if *calls <= failures {
                    return Err(TaskError::new("Item.Broke", format!("call {calls}")));
                }
            }
            Ok(input)
        }
    });
    calls
}

#[tokio::test(start_paused = true)]
async fn a_failing_item_fails_the_map_at_once_with_its_error_which_catch_handles() {
    // "If any iteration fails, the entire Map state fails, and all iterations are stopped"; Map
    // supports Catch like a Task.
    let r = TaskRegistry::new();
    item_one_breaks(&r, usize::MAX);
    let def = map_over(
        "itemOneBreaks",
        json!({"Catch": [{"ErrorEquals": ["Item.Broke"], "ResultPath": "$.err", "Next": "Caught"}]}),
    );
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run(def, &r, json!({"items": [0, 1, 2]})),
    )
    .await
    .expect("the Map fails without waiting for item 0");
    assert_eq!(out.status, ExecutionStatus::Succeeded);
    assert_eq!(
        out.output,
        Some(json!({"items": [0, 1, 2], "err": {"Error": "Item.Broke", "Cause": "call 1"}}))
    );
}

#[tokio::test(start_paused = true)]
async fn an_uncaught_map_item_error_fails_the_execution_with_that_error() {
    let r = TaskRegistry::new();
    item_one_breaks(&r, usize::MAX);
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run(
            map_over("itemOneBreaks", json!({})),
            &r,
            json!({"items": [0, 1]}),
        ),
    )
    .await
    .expect("the Map fails without waiting for item 0");
    assert_eq!(
        (out.status, out.error.as_deref(), out.cause.as_deref()),
        (ExecutionStatus::Failed, Some("Item.Broke"), Some("call 1"))
    );
}

#[tokio::test(start_paused = true)]
async fn retry_on_a_map_state_runs_the_map_again_after_an_item_fails() {
    // A Map state's Retry applies to the error of a failed iteration: the whole state runs again.
    let r = TaskRegistry::new();
    let calls = item_one_breaks(&r, 1);
    let def = map_over(
        "itemOneBreaks",
        json!({"Retry": [{"ErrorEquals": ["Item.Broke"], "MaxAttempts": 1}]}),
    );
    let out = run(def, &r, json!({"items": [1, 2, 3]})).await;
    assert_eq!(out.output, Some(json!([1, 2, 3])));
    assert_eq!(*calls.lock().unwrap(), 2);
}
