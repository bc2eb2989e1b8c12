//! The states that run machines of their own: Parallel (each branch once, all at once) and Map
//! (the item processor once per item, at most `MaxConcurrency` at once).

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::Value;

use super::{Runner, StateCtx};
use crate::definition::{Machine, MapSpec};
use crate::error::TaskError;

impl Runner {
    /// Parallel: runs every branch on `input` at once; the result is the array of their outputs
    /// in branch order.
    pub(super) async fn run_parallel(
        &self,
        branches: &[std::sync::Arc<Machine>],
        input: Value,
    ) -> Result<Value, TaskError> {
        // AWS: branches run concurrently; if any branch fails the Parallel state fails with that
        // error and the other branches are stopped.
        let runs = branches
            .iter()
            .map(|branch| self.run_machine(branch, input.clone()));
        Ok(Value::Array(futures::future::try_join_all(runs).await?))
    }

    /// Map: runs the item processor once per item of `ItemsPath` (each item's input shaped by
    /// `ItemSelector`), at most `MaxConcurrency` at once; the result is the array of their
    /// outputs in item order. The first item that fails fails the state with its error, and the
    /// other iterations are stopped.
    pub(super) async fn run_map(
        &self,
        ctx: &StateCtx<'_>,
        spec: &MapSpec,
        effective: &Value,
    ) -> Result<Value, TaskError> {
        let context = self.context(ctx, None, None);
        let items = match &spec.items_path {
            Some(path) => path.select(effective, &context),
            None => Some(effective.clone()),
        };
        let Some(Value::Array(items)) = items else {
            return Err(TaskError::runtime(format!(
                "Map state \"{}\": ItemsPath must select a JSON array",
                ctx.state.name
            )));
        };
        // AWS: MaxConcurrency 0 (the default) means no limit; results keep the item order.
        let count = items.len();
        let limit = if spec.max_concurrency == 0 {
            count.max(1)
        } else {
            spec.max_concurrency
        };
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let selector = spec.item_selector.as_ref();
            async move {
                let input = match selector {
                    Some(template) => {
                        let item_context = self.context(ctx, None, Some((index, &item)));
                        template.render(effective, &item_context)?
                    }
                    None => item,
                };
                let output = self.run_machine(&spec.processor, input).await?;
                Ok::<_, TaskError>((index, output))
            }
        });
        // Unordered, so that a slow item holds a slot of its own and not the ones behind it, and
        // the first failing item fails the state at once (AWS: "If any iteration fails, the
        // entire Map state fails, and all iterations are stopped"); dropping the stream stops them.
        let mut finished = futures::stream::iter(runs).buffer_unordered(limit);
        let mut results = vec![Value::Null; count];
        while let Some((index, output)) = finished.try_next().await? {
            if let Some(slot) = results.get_mut(index) {
                *slot = output;
            }
        }
        Ok(Value::Array(results))
    }
}
