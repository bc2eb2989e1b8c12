//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use sde_states::{
    Engine, EngineOptions, ExecutionDescription, StateMachine, TaskError, TaskRegistry,
};
use serde_json::Value;

pub const FN_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:sde-dev-";

pub fn engine(definition: Value, registry: &TaskRegistry) -> Engine {
    let machine = StateMachine::load(&definition.to_string()).expect("definition loads");
    Engine::new(machine, registry.clone(), EngineOptions::default())
}

pub async fn run(definition: Value, registry: &TaskRegistry, input: Value) -> ExecutionDescription {
    let engine = engine(definition, registry);
    let arn = engine.start_execution("test", input).unwrap();
    engine.wait(&arn).await.unwrap()
}

/// A handler that records its inputs and answers from a script (last answer repeats).
pub fn scripted(
    registry: &TaskRegistry,
    name: &str,
    answers: Vec<Result<Value, TaskError>>,
) -> Arc<Mutex<Vec<Value>>> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    registry.register_fn(name, move |_ctx, input| {
        let seen = seen.clone();
        let answers = answers.clone();
        async move {
            let n = {
                let mut calls = seen.lock().unwrap();
                calls.push(input);
                calls.len()
            };
            answers[(n - 1).min(answers.len() - 1)].clone()
        }
    });
    calls
}
