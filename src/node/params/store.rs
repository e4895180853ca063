//! [`ParameterStore`]: a node's declared parameters, their checks and on-set callbacks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use super::descriptor::ParameterDescriptor;
use super::value::{ParameterType, ParameterValue};
use crate::lock::lock;
use crate::msg::rcl_interfaces as rcl;

/// A parameter's name and value, as a set request or an on-set callback sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The parameter's name, such as `rate` or `camera.exposure`.
    pub name: String,
    /// The value.
    pub value: ParameterValue,
}

impl Parameter {
    /// A parameter called `name` with `value`.
    pub fn new(name: &str, value: impl Into<ParameterValue>) -> Self {
        Self {
            name: name.to_string(),
            value: value.into(),
        }
    }

    /// The parameter as `rcl_interfaces/msg/Parameter`.
    pub fn to_msg(&self) -> rcl::Parameter {
        rcl::Parameter {
            name: self.name.clone(),
            value: self.value.to_msg(),
        }
    }
}

/// Why a declaration or a set was refused; the text is rclcpp's wording where ROS 2 has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParameterError(pub String);

/// An on-set callback: sees every change of one set (or declaration) before it is applied and
/// refuses it all with a reason by returning `Err`.
pub type OnSetParameters = dyn Fn(&[Parameter]) -> Result<(), String> + Send + Sync;

/// A callback run after a change is applied, with the parameters as set (a deleted one as
/// [`ParameterValue::NotSet`]).
pub type AfterSetParameters = dyn Fn(&[Parameter]) + Send + Sync;

/// Receives each `rcl_interfaces/msg/ParameterEvent` the store produces.
pub(crate) type EventSink = Box<dyn Fn(rcl::ParameterEvent) + Send + Sync>;

/// A declared parameter.
#[derive(Debug, Clone)]
struct Declared {
    value: ParameterValue,
    descriptor: ParameterDescriptor,
    /// The type fixed at declaration (checked unless the descriptor allows dynamic typing).
    kind: ParameterType,
}

#[derive(Default)]
struct State {
    declared: BTreeMap<String, Declared>,
    callbacks: Vec<(u64, Arc<OnSetParameters>)>,
    after: Vec<(u64, Arc<AfterSetParameters>)>,
    next_callback: u64,
}

/// A node's parameters: declared with a descriptor, start-up overrides applied, each set checked
/// (declared, read-only, type, range, then the on-set callbacks) and announced as an event.
pub struct ParameterStore {
    node: String,
    overrides: BTreeMap<String, ParameterValue>,
    state: Mutex<State>,
    events: Mutex<Option<EventSink>>,
    /// Held by one set at a time from its checks to its change, so a set's checks and
    /// callbacks see the values it will replace.
    setting: Mutex<()>,
    /// Whether a set may name undeclared parameters (declaring them, as rclcpp's
    /// `allow_undeclared_parameters`).
    allow_undeclared: bool,
}

thread_local! {
    /// True while this thread runs on-set callbacks (which must not set parameters).
    static IN_ON_SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running on-set callbacks until dropped (a panicking callback too).
struct InOnSet;

impl InOnSet {
    fn enter() -> Self {
        IN_ON_SET.with(|flag| flag.set(true));
        InOnSet
    }
}

impl Drop for InOnSet {
    fn drop(&mut self) {
        IN_ON_SET.with(|flag| flag.set(false));
    }
}

impl std::fmt::Debug for ParameterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterStore")
            .field("node", &self.node)
            .field("names", &self.names())
            .finish()
    }
}

impl ParameterStore {
    /// The store of node `node` (its fully qualified name) with start-up `overrides`.
    pub(crate) fn new(node: &str, overrides: BTreeMap<String, ParameterValue>) -> Self {
        Self {
            node: node.to_string(),
            overrides,
            state: Mutex::default(),
            events: Mutex::default(),
            setting: Mutex::default(),
            allow_undeclared: false,
        }
    }

    /// Lets sets name undeclared parameters, as rclcpp's `allow_undeclared_parameters`: such
    /// a set declares them, dynamically typed (with a start-up override's value if there is
    /// one), and the services answer for undeclared names (not set, a default descriptor).
    pub(crate) fn allow_undeclared(mut self, allow: bool) -> Self {
        self.allow_undeclared = allow;
        self
    }

    /// Whether sets may name undeclared parameters (see `NodeBuilder::allow_undeclared_parameters`).
    pub fn allows_undeclared(&self) -> bool {
        self.allow_undeclared
    }

    /// Sends every later event to `sink`.
    pub(crate) fn set_event_sink(&self, sink: EventSink) {
        *lock(&self.events) = Some(sink);
    }

    /// Declares `name` with `default` (replaced by a start-up override if there is one);
    /// returns the value it starts with.
    pub fn declare(
        &self,
        name: &str,
        default: ParameterValue,
        descriptor: ParameterDescriptor,
    ) -> Result<ParameterValue, ParameterError> {
        if name.is_empty() {
            return Err(ParameterError("parameter name must not be empty".into()));
        }
        if lock(&self.state).declared.contains_key(name) {
            return Err(ParameterError(format!(
                "parameter '{name}' has already been declared"
            )));
        }
        let kind = default.parameter_type();
        if kind == ParameterType::NotSet && !descriptor.dynamic_typing {
            return Err(ParameterError(format!(
                "cannot declare parameter '{name}' without a value: a statically typed \
                 parameter needs a default value (or allow dynamic typing)"
            )));
        }
        let value = self.overrides.get(name).cloned().unwrap_or(default);
        let invalid = |reason: String| {
            ParameterError(format!("parameter '{name}' has invalid type: {reason}"))
        };
        if !descriptor.dynamic_typing && value.parameter_type() != kind {
            return Err(invalid(wrong_type(name, kind, value.parameter_type())));
        }
        descriptor.check_range(name, &value).map_err(|reason| {
            ParameterError(format!("parameter '{name}' could not be set: {reason}"))
        })?;
        let change = [Parameter::new(name, value.clone())];
        self.run_callbacks(&change).map_err(|reason| {
            ParameterError(format!("parameter '{name}' could not be set: {reason}"))
        })?;
        {
            let mut state = lock(&self.state);
            if state.declared.contains_key(name) {
                return Err(ParameterError(format!(
                    "parameter '{name}' has already been declared"
                )));
            }
            state.declared.insert(
                name.to_string(),
                Declared {
                    value: value.clone(),
                    descriptor,
                    kind,
                },
            );
        }
        self.run_after(&change);
        self.publish(change.to_vec(), Vec::new(), Vec::new());
        Ok(value)
    }

    /// The value of `name`, or `None` when it is not declared.
    pub fn get(&self, name: &str) -> Option<ParameterValue> {
        lock(&self.state)
            .declared
            .get(name)
            .map(|d| d.value.clone())
    }

    /// The descriptor of `name` as `rcl_interfaces/msg/ParameterDescriptor`, if declared.
    pub fn describe(&self, name: &str) -> Option<rcl::ParameterDescriptor> {
        lock(&self.state)
            .declared
            .get(name)
            .map(|d| d.descriptor.to_msg(name, d.value.parameter_type()))
    }

    /// The names of all declared parameters, sorted.
    pub fn names(&self) -> Vec<String> {
        lock(&self.state).declared.keys().cloned().collect()
    }

    /// Sets each parameter on its own (as `set_parameters` does): one result per parameter.
    pub fn set(&self, parameters: &[Parameter]) -> Vec<Result<(), ParameterError>> {
        parameters
            .iter()
            .map(|p| self.set_atomically(std::slice::from_ref(p)))
            .collect()
    }

    /// Sets all parameters or none (as `set_parameters_atomically` does). Sets run one after
    /// the other; an on-set callback cannot set parameters (as in rclcpp).
    pub fn set_atomically(&self, parameters: &[Parameter]) -> Result<(), ParameterError> {
        if IN_ON_SET.with(std::cell::Cell::get) {
            return Err(ParameterError(
                "parameters cannot be set from inside an on-set callback".to_string(),
            ));
        }
        let (mut new, mut changed, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
        {
            let _one_at_a_time = lock(&self.setting);
            let parameters = self.with_implicit_values(parameters);
            self.check(&parameters).map_err(ParameterError)?;
            {
                let _in_callbacks = InOnSet::enter();
                self.run_callbacks(&parameters).map_err(ParameterError)?;
            }
            let mut state = lock(&self.state);
            for p in parameters {
                if p.value == ParameterValue::NotSet {
                    if state.declared.remove(&p.name).is_some() {
                        deleted.push(p);
                    }
                } else if let Some(d) = state.declared.get_mut(&p.name) {
                    d.value = p.value.clone();
                    changed.push(p);
                } else if self.allow_undeclared {
                    // Declared implicitly, dynamically typed, as rclcpp does.
                    state.declared.insert(
                        p.name.clone(),
                        Declared {
                            value: p.value.clone(),
                            descriptor: ParameterDescriptor::default().dynamic_typing(),
                            kind: p.value.parameter_type(),
                        },
                    );
                    new.push(p);
                }
            }
        }
        let applied: Vec<Parameter> = new
            .iter()
            .chain(&changed)
            .chain(&deleted)
            .cloned()
            .collect();
        self.run_after(&applied);
        self.publish(new, changed, deleted);
        Ok(())
    }

    /// With undeclared parameters allowed, a set of an undeclared parameter declares it with
    /// its start-up override's value if there is one (as rclcpp); other sets are unchanged.
    fn with_implicit_values(&self, parameters: &[Parameter]) -> Vec<Parameter> {
        if !self.allow_undeclared {
            return parameters.to_vec();
        }
        let state = lock(&self.state);
        parameters
            .iter()
            .map(|p| match self.overrides.get(&p.name) {
                Some(value)
                    if p.value != ParameterValue::NotSet
                        && !state.declared.contains_key(&p.name) =>
                {
                    Parameter::new(&p.name, value.clone())
                }
                _ => p.clone(),
            })
            .collect()
    }

    /// rclcpp's checks, in its order: declared, read-only, type, range.
    fn check(&self, parameters: &[Parameter]) -> Result<(), String> {
        let state = lock(&self.state);
        for p in parameters {
            let name = &p.name;
            let Some(d) = state.declared.get(name) else {
                if self.allow_undeclared {
                    // Declared by this set (or, unset, left alone): nothing to check.
                    continue;
                }
                return Err(format!(
                    "parameter '{name}' cannot be set because it was not declared"
                ));
            };
            if d.descriptor.read_only {
                return Err(format!(
                    "parameter '{name}' cannot be set because it is read-only"
                ));
            }
            let new = p.value.parameter_type();
            if !d.descriptor.dynamic_typing {
                if new == ParameterType::NotSet {
                    return Err(format!(
                        "cannot undeclare parameter '{name}': it is statically typed"
                    ));
                }
                if new != d.kind {
                    return Err(wrong_type(name, d.kind, new));
                }
            }
            d.descriptor.check_range(name, &p.value)?;
        }
        Ok(())
    }

    /// Registers an on-set callback; it stays until the returned handle is dropped.
    pub fn add_on_set(self: &Arc<Self>, callback: Arc<OnSetParameters>) -> OnSetParametersHandle {
        let mut state = lock(&self.state);
        let id = state.next_callback;
        state.next_callback += 1;
        state.callbacks.push((id, callback));
        OnSetParametersHandle {
            store: Arc::downgrade(self),
            id,
        }
    }

    /// Registers a callback run after each applied change; it stays until the returned handle
    /// is dropped.
    pub fn add_after_set(
        self: &Arc<Self>,
        callback: Arc<AfterSetParameters>,
    ) -> OnSetParametersHandle {
        let mut state = lock(&self.state);
        let id = state.next_callback;
        state.next_callback += 1;
        state.after.push((id, callback));
        OnSetParametersHandle {
            store: Arc::downgrade(self),
            id,
        }
    }

    /// Runs the after-set callbacks, outside the lock.
    fn run_after(&self, applied: &[Parameter]) {
        if applied.is_empty() {
            return;
        }
        let after: Vec<Arc<AfterSetParameters>> = lock(&self.state)
            .after
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        after.iter().for_each(|c| c(applied));
    }

    /// Runs every callback, newest first as rclcpp does, outside the lock.
    fn run_callbacks(&self, parameters: &[Parameter]) -> Result<(), String> {
        let callbacks: Vec<Arc<OnSetParameters>> = lock(&self.state)
            .callbacks
            .iter()
            .rev()
            .map(|(_, c)| c.clone())
            .collect();
        callbacks.iter().try_for_each(|c| c(parameters))
    }

    fn publish(&self, new: Vec<Parameter>, changed: Vec<Parameter>, deleted: Vec<Parameter>) {
        if new.is_empty() && changed.is_empty() && deleted.is_empty() {
            return;
        }
        let events = lock(&self.events);
        let Some(sink) = events.as_ref() else {
            return;
        };
        let msgs = |ps: Vec<Parameter>| ps.iter().map(Parameter::to_msg).collect();
        sink(rcl::ParameterEvent {
            stamp: crate::time::Time::now(),
            node: self.node.clone(),
            new_parameters: msgs(new),
            changed_parameters: msgs(changed),
            deleted_parameters: msgs(deleted),
        });
    }
}

/// rclcpp's reason for a set of the wrong type.
fn wrong_type(name: &str, declared: ParameterType, new: ParameterType) -> String {
    format!(
        "Wrong parameter type, parameter {{{name}}} is of type {{{declared}}}, setting it to \
         {{{new}}} is not allowed."
    )
}

/// Keeps an on-set or after-set callback registered; dropping it removes the callback.
#[must_use = "the callback is removed when the handle is dropped"]
pub struct OnSetParametersHandle {
    store: Weak<ParameterStore>,
    id: u64,
}

impl std::fmt::Debug for OnSetParametersHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnSetParametersHandle")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for OnSetParametersHandle {
    fn drop(&mut self) {
        if let Some(store) = self.store.upgrade() {
            let mut state = lock(&store.state);
            state.callbacks.retain(|(id, _)| *id != self.id);
            state.after.retain(|(id, _)| *id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(overrides: &[(&str, ParameterValue)]) -> Arc<ParameterStore> {
        let overrides = overrides
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        Arc::new(ParameterStore::new("/n", overrides))
    }

    fn refusal(store: &ParameterStore, name: &str, value: impl Into<ParameterValue>) -> String {
        store
            .set_atomically(&[Parameter::new(name, value)])
            .unwrap_err()
            .0
    }

    #[test]
    fn allowed_undeclared_parameters_are_declared_by_a_set_dynamically_typed() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::new(
            ParameterStore::new("/n", [("gain".to_string(), 2.5.into())].into())
                .allow_undeclared(true),
        );
        let sink = events.clone();
        s.set_event_sink(Box::new(move |e| lock(&sink).push(e)));
        s.set_atomically(&[Parameter::new("fresh", 5)]).unwrap();
        assert_eq!(s.get("fresh"), Some(5.into()));
        // Dynamically typed: another type is accepted.
        s.set_atomically(&[Parameter::new("fresh", "five")])
            .unwrap();
        assert_eq!(s.get("fresh"), Some("five".into()));
        assert!(s.describe("fresh").unwrap().dynamic_typing);
        // A start-up override wins over the value of the implicit declaration (rclcpp).
        s.set_atomically(&[Parameter::new("gain", 1.0)]).unwrap();
        assert_eq!(s.get("gain"), Some(2.5.into()));
        // Unsetting an undeclared name changes nothing; unsetting a dynamic one undeclares it.
        s.set_atomically(&[Parameter::new("nothing", ParameterValue::NotSet)])
            .unwrap();
        assert_eq!(s.get("nothing"), None);
        s.set_atomically(&[Parameter::new("fresh", ParameterValue::NotSet)])
            .unwrap();
        assert_eq!(s.get("fresh"), None);
        let events = lock(&events);
        let names = |ps: &[rcl::Parameter]| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&events[0].new_parameters), ["fresh"]);
        assert_eq!(names(&events[1].changed_parameters), ["fresh"]);
        assert_eq!(names(&events[2].new_parameters), ["gain"]);
        assert_eq!(names(&events[3].deleted_parameters), ["fresh"]);
        assert_eq!(events.len(), 4);
        // Without the option the set is refused.
        let strict = store(&[]);
        assert_eq!(
            refusal(&strict, "fresh", 5),
            "parameter 'fresh' cannot be set because it was not declared"
        );
    }

    #[test]
    fn refusals_use_rclcpp_wording_and_change_nothing() {
        let s = store(&[]);
        s.declare(
            "rate",
            10.0.into(),
            ParameterDescriptor::default().floating_point_range(0.0, 50.0, 0.0),
        )
        .unwrap();
        s.declare("id", 3.into(), ParameterDescriptor::default().read_only())
            .unwrap();
        assert_eq!(
            refusal(&s, "rate", "fast"),
            "Wrong parameter type, parameter {rate} is of type {double}, setting it to {string} \
             is not allowed."
        );
        assert_eq!(
            refusal(&s, "rate", 60.0),
            "Parameter {rate} doesn't comply with floating point range."
        );
        assert_eq!(
            refusal(&s, "id", 4),
            "parameter 'id' cannot be set because it is read-only"
        );
        assert_eq!(
            refusal(&s, "nope", 1),
            "parameter 'nope' cannot be set because it was not declared"
        );
        assert_eq!(s.get("rate"), Some(ParameterValue::Double(10.0)));
        assert_eq!(s.get("id"), Some(ParameterValue::Integer(3)));
        s.set_atomically(&[Parameter::new("rate", 20.0)]).unwrap();
        assert_eq!(s.get("rate"), Some(ParameterValue::Double(20.0)));
    }

    #[test]
    fn concurrent_sets_are_checked_one_after_the_other() {
        // A callback that checks a rule across parameters (min <= max) against the current
        // values, slowly: two sets at once must not both pass against the old values.
        let s = store(&[]);
        s.declare("min", 0.into(), ParameterDescriptor::default())
            .unwrap();
        s.declare("max", 10.into(), ParameterDescriptor::default())
            .unwrap();
        let reader = Arc::downgrade(&s);
        let _rule = s.add_on_set(Arc::new(move |ps: &[Parameter]| {
            let store = reader.upgrade().ok_or("gone")?;
            let value = |name: &str| {
                ps.iter()
                    .find(|p| p.name == name)
                    .map(|p| p.value.clone())
                    .or_else(|| store.get(name))
            };
            std::thread::sleep(std::time::Duration::from_millis(50));
            match (value("min"), value("max")) {
                (Some(ParameterValue::Integer(lo)), Some(ParameterValue::Integer(hi)))
                    if lo > hi =>
                {
                    Err(format!("min {lo} > max {hi}"))
                }
                _ => Ok(()),
            }
        }));
        let start = Arc::new(std::sync::Barrier::new(2));
        let (a, b) = (s.clone(), s.clone());
        let (go_a, go_b) = (start.clone(), start);
        let raise = std::thread::spawn(move || {
            go_a.wait();
            a.set_atomically(&[Parameter::new("min", 8)])
        });
        let lower = std::thread::spawn(move || {
            go_b.wait();
            b.set_atomically(&[Parameter::new("max", 5)])
        });
        let results = [raise.join().unwrap(), lower.join().unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_err()).count(),
            1,
            "{results:?}"
        );
        let (Some(ParameterValue::Integer(lo)), Some(ParameterValue::Integer(hi))) =
            (s.get("min"), s.get("max"))
        else {
            panic!("integers");
        };
        assert!(lo <= hi, "min {lo} > max {hi}");
    }

    #[test]
    fn an_on_set_callback_cannot_set_parameters() {
        let s = store(&[]);
        s.declare("a", 1.into(), ParameterDescriptor::default())
            .unwrap();
        let inner = Arc::downgrade(&s);
        let _nested = s.add_on_set(Arc::new(move |_: &[Parameter]| {
            let store = inner.upgrade().ok_or("gone")?;
            store
                .set_atomically(&[Parameter::new("a", 3)])
                .map_err(|e| e.to_string())
        }));
        let err = s
            .set_atomically(&[Parameter::new("a", 2)])
            .expect_err("refused");
        assert!(
            err.to_string().contains("inside an on-set callback"),
            "{err}"
        );
        assert_eq!(s.get("a"), Some(ParameterValue::Integer(1)));
    }

    #[test]
    fn callbacks_can_refuse_and_atomic_sets_apply_all_or_nothing() {
        let s = store(&[]);
        s.declare("a", 1.into(), ParameterDescriptor::default())
            .unwrap();
        s.declare("b", 1.into(), ParameterDescriptor::default())
            .unwrap();
        let handle = s.add_on_set(Arc::new(|ps: &[Parameter]| {
            match ps.iter().any(|p| p.value == ParameterValue::Integer(13)) {
                true => Err("13 is unlucky".to_string()),
                false => Ok(()),
            }
        }));
        assert_eq!(refusal(&s, "a", 13), "13 is unlucky");
        let both = [Parameter::new("a", 2), Parameter::new("b", "x")];
        assert!(s.set_atomically(&both).is_err());
        assert_eq!(s.get("a"), Some(ParameterValue::Integer(1)));
        let results = s.set(&both);
        assert!(results[0].is_ok() && results[1].is_err());
        assert_eq!(s.get("a"), Some(ParameterValue::Integer(2)));
        drop(handle);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let after = s.add_after_set(Arc::new(move |ps: &[Parameter]| {
            lock(&sink).extend(ps.iter().map(|p| p.value.clone()))
        }));
        s.set_atomically(&[Parameter::new("a", 13)]).unwrap();
        assert!(s.set_atomically(&[Parameter::new("a", "x")]).is_err());
        drop(after);
        s.set_atomically(&[Parameter::new("a", 14)]).unwrap();
        assert_eq!(
            *lock(&seen),
            [ParameterValue::Integer(13)],
            "only applied changes"
        );
    }

    #[test]
    fn overrides_replace_defaults_but_keep_the_declared_type() {
        let s = store(&[
            ("rate", ParameterValue::Double(5.0)),
            ("id", ParameterValue::Integer(9)),
            ("bad", "text".into()),
        ]);
        let rate = s.declare("rate", 10.0.into(), ParameterDescriptor::default());
        assert_eq!(rate, Ok(ParameterValue::Double(5.0)));
        // A read-only parameter still takes its start-up value.
        let id = s.declare("id", 1.into(), ParameterDescriptor::default().read_only());
        assert_eq!(id, Ok(ParameterValue::Integer(9)));
        let bad = s
            .declare("bad", 1.into(), ParameterDescriptor::default())
            .unwrap_err();
        assert!(
            bad.0
                .contains("is of type {integer}, setting it to {string}"),
            "{bad}"
        );
        assert!(s
            .declare("rate", 1.0.into(), ParameterDescriptor::default())
            .is_err());
    }

    #[test]
    fn dynamic_typing_allows_type_changes_and_undeclaring() {
        let s = store(&[]);
        s.declare(
            "x",
            1.into(),
            ParameterDescriptor::default().dynamic_typing(),
        )
        .unwrap();
        s.set_atomically(&[Parameter::new("x", "now text")])
            .unwrap();
        assert_eq!(s.get("x"), Some("now text".into()));
        s.set_atomically(&[Parameter::new("x", ParameterValue::NotSet)])
            .unwrap();
        assert_eq!(s.get("x"), None);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        s.set_event_sink(Box::new(move |e| lock(&sink).push(e)));
        s.declare("y", true.into(), ParameterDescriptor::default())
            .unwrap();
        s.set_atomically(&[Parameter::new("y", false)]).unwrap();
        let events = lock(&events);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].node, "/n");
        assert_eq!(events[0].new_parameters[0].name, "y");
        assert!(!events[1].changed_parameters[0].value.bool_value);
    }
}
