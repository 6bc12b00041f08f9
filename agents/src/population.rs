//! A `[[population]]`: `count` agents with a role, a strategy and its parameters, and the groups
//! of keys that apply to the role:
//!
//! | group | keys | roles |
//! |---|---|---|
//! | [`Common`] | `budget`, `initial_reputation` | every role |
//! | [`Trading`] | prices, arrivals, task mix, units, order lifetime and quotas | requesters, providers |
//! | [`Requesting`] | value, reputation minimum, privacy mix, SLA terms | requesters |
//! | [`Providing`] | cost, capabilities, confidential attestation, usage cap, reliability | providers |
//! | the strategy's own parameters | see [`crate::strategies`] | the strategy's roles |
//!
//! The scenario loader splits a population table among its groups by their field names, so a key
//! that no group of the population's role and strategy has is refused, with the name of the roles
//! or strategies it belongs to. The kernel and the agents trust validated values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use synmarket_engine::{DurationMs, Side};

use crate::config::{Check, Domain, TomlPath, bad, dist, finite, in_range, name, probability};
use crate::dist::{Dist, UnitValues};
use crate::spec::{
    Context, MAX_BUDGET, MAX_COUNT, MAX_PRICE, MAX_RATE_PER_HOUR, MAX_SCENARIO_DURATION_MS, MAX_UNITS, MAX_USAGE_CAP,
    PrivacyMix, Reliability, Role, SlaTerms,
};
use crate::strategies::{Strategy, StrategySpec};

/// One `[[population]]`: `count` agents that share a role, a strategy and the distributions their
/// private parameters are drawn from. Groups that do not apply to the role hold neutral values
/// and are not written.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationSpec {
    /// Name (unique in the scenario), used in reports and stream ids.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Number of agents.
    pub count: u32,
    /// The strategy and its own parameters.
    pub strategy: StrategySpec,
    /// Keys of every role.
    pub common: Common,
    /// Keys of requesters and providers.
    pub trading: Trading,
    /// Keys of requesters.
    pub requesting: Requesting,
    /// Keys of providers.
    pub providing: Providing,
}

/// A group of population keys: its defaults and its checks.
pub trait Group: Serialize + for<'de> Deserialize<'de> {
    /// The roles that may set the group's keys.
    const ROLES: &'static [Role];
    /// The values of keys not written, for a population of `role` playing `strategy`.
    fn defaults(role: Role, strategy: &StrategySpec, task_types: &[String]) -> Self;
    /// Checks the values; paths are relative to the population table.
    fn validate(&self, ctx: &Context<'_>) -> Check<()>;
}

impl PopulationSpec {
    /// A population for tests and builders: the file defaults, except that every role is endowed
    /// with 1,000,000 tokens, and an empty task mix (every task type, weight 1).
    pub fn new(name: &str, role: Role, count: u32, strategy: Strategy) -> Self {
        let strategy = strategy.default_spec();
        PopulationSpec {
            name: name.to_string(),
            role,
            count,
            common: Common { budget: Dist::Fixed(1_000_000.0), initial_reputation: None },
            trading: Trading::defaults(role, &strategy, &[]),
            requesting: Requesting::defaults(role, &strategy, &[]),
            providing: Providing::defaults(role, &strategy, &[]),
            strategy,
        }
    }

    /// The strategy tag.
    pub fn kind(&self) -> Strategy {
        self.strategy.kind()
    }

    /// Checks every group that applies to the role, then the strategy's parameters.
    pub fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        name(&root.key("name"), &self.name)?;
        if self.count == 0 {
            return bad(&root.key("count"), "0 agents: a population needs at least 1");
        }
        if i64::from(self.count) > MAX_COUNT {
            return bad(
                &root.key("count"),
                format!("{} agents exceed the limit of {MAX_COUNT} per population", self.count),
            );
        }
        self.common.validate(ctx)?;
        if Trading::ROLES.contains(&self.role) {
            self.trading.validate(ctx)?;
        }
        if Requesting::ROLES.contains(&self.role) {
            self.requesting.validate(ctx)?;
        }
        if Providing::ROLES.contains(&self.role) {
            self.providing.validate(ctx)?;
        }
        self.check_schedule()?;
        self.strategy.behaviour().validate(ctx)
    }

    /// The schedule of unit values (requesters) or costs (providers), if the population writes
    /// its traders' values out one by one.
    pub fn schedule(&self) -> Option<&[Vec<f64>]> {
        match self.role {
            Role::Requester => self.requesting.value_per_unit.schedule(),
            Role::Provider => self.providing.cost_per_unit.schedule(),
            Role::Arbitrator => None,
        }
    }

    /// Most units member `member` trades per period: its list's length under a schedule, else
    /// `units_per_period` (`None`: no quota).
    pub fn units_per_period(&self, member: u32) -> Option<u64> {
        match self.schedule() {
            Some(s) => s.get(member as usize).map(|l| l.len() as u64),
            None => self.trading.units_per_period,
        }
    }

    /// A schedule has one list per agent, sets each trader's units per period (its list's
    /// length) and trades one unit per order.
    fn check_schedule(&self) -> Check<()> {
        let Some(lists) = self.schedule() else { return Ok(()) };
        let root = TomlPath::root();
        let key = if self.role == Role::Requester { "value_per_unit" } else { "cost_per_unit" };
        if lists.len() != self.count as usize {
            return bad(
                &root.key(key).key("schedule"),
                format!(
                    "{} lists for {} agents (`count = {}`): write one list of unit values per agent",
                    lists.len(),
                    self.count,
                    self.count
                ),
            );
        }
        if self.trading.units_per_period.is_some() {
            return bad(
                &root.key("units_per_period"),
                format!(
                    "is set by the schedule: each trader trades as many units per period as its list in `{key}` \
                     has (remove this key)"
                ),
            );
        }
        if self.trading.units.as_ref().is_some_and(|u| *u != Dist::Fixed(1.0)) {
            return bad(
                &root.key("units"),
                "a trader with a schedule of unit values orders one unit at a time: write `units = 1` or leave it out",
            );
        }
        Ok(())
    }
}

/// Writes the population as its file table: the header keys, then the keys of every group that
/// applies to the role, then the strategy's parameters.
impl Serialize for PopulationSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Header<'a> {
            name: &'a str,
            role: Role,
            count: u32,
            strategy: Strategy,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            header: Header<'a>,
            #[serde(flatten)]
            common: &'a Common,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            trading: Option<&'a Trading>,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            requesting: Option<&'a Requesting>,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            providing: Option<&'a Providing>,
            #[serde(flatten)]
            params: &'a StrategySpec,
        }
        let applies = |roles: &[Role]| roles.contains(&self.role);
        Out {
            header: Header { name: &self.name, role: self.role, count: self.count, strategy: self.kind() },
            common: &self.common,
            trading: applies(Trading::ROLES).then_some(&self.trading),
            requesting: applies(Requesting::ROLES).then_some(&self.requesting),
            providing: applies(Providing::ROLES).then_some(&self.providing),
            params: &self.strategy,
        }
        .serialize(s)
    }
}

/// Keys of every role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// Tokens each agent is endowed with (at the start and at each period reset); default
    /// 1,000,000 for requesters, 0 for the other roles.
    pub budget: Dist,
    /// Starting reputation; `None` uses the market's initial value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_reputation: Option<Dist>,
}

impl Group for Common {
    const ROLES: &'static [Role] = &Role::ALL;

    fn defaults(role: Role, _: &StrategySpec, _: &[String]) -> Self {
        let budget = if role == Role::Requester { 1_000_000.0 } else { 0.0 };
        Common { budget: Dist::Fixed(budget), initial_reputation: None }
    }

    fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        dist(&root.key("budget"), &self.budget, Domain::closed(0.0, MAX_BUDGET))?;
        if let Some(r) = &self.initial_reputation {
            dist(&root.key("initial_reputation"), r, Domain::closed(ctx.reputation.0, ctx.reputation.1))?;
        }
        Ok(())
    }
}

/// An arrival rate: orders per hour per agent, written as a number or
/// `{ poisson_rate_per_hour = x }`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Plain(f64),
            Table {
                #[allow(dead_code)]
                poisson_rate_per_hour: f64,
            },
        }
        match Form::deserialize(d) {
            Ok(Form::Plain(x)) | Ok(Form::Table { poisson_rate_per_hour: x }) => Ok(Rate(x)),
            Err(_) => {
                Err(serde::de::Error::custom("expected a number of orders per hour or { poisson_rate_per_hour = x }"))
            }
        }
    }
}

/// Keys of requesters and providers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trading {
    /// Lowest price a ZI trader quotes (default 1).
    pub min_price: f64,
    /// Highest price a ZI trader quotes, and a ring's price (default 200).
    pub max_price: f64,
    /// Mean orders per hour per agent, Poisson arrivals (default 1).
    #[serde(rename = "arrival_rate")]
    pub arrival_rate_per_hour: Rate,
    /// Task types this population trades, by name, with weights (default: every task type,
    /// weight 1; an empty mix in a population built in code means the same).
    pub task_mix: BTreeMap<String, f64>,
    /// Units per order; `None` uses the task type's `units`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<Dist>,
    /// How long an order stays in the market; `None`: no expiry.
    #[serde(rename = "order_ttl", default, skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub order_ttl_ms: Option<DurationMs>,
    /// When each agent first arrives; `None`: an exponential draw like every later arrival.
    #[serde(rename = "first_arrival", default, skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub first_arrival_ms: Option<DurationMs>,
    /// The most orders an agent places in the whole run; `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_orders: Option<u32>,
    /// Most units traded per period; once reached the agent places no order until the next
    /// period (`None`: no quota; single-unit traders of Gode–Sunder: `Some(1)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units_per_period: Option<u64>,
}

/// Serde adapter for an optional duration string.
mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use synmarket_engine::DurationMs;
    use synmarket_engine::duration::Duration;

    pub fn serialize<S: Serializer>(v: &Option<DurationMs>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ms) => s.serialize_some(&Duration(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DurationMs>, D::Error> {
        Duration::deserialize(d).map(|x| Some(x.ms()))
    }
}

impl Group for Trading {
    const ROLES: &'static [Role] = &[Role::Requester, Role::Provider];

    fn defaults(_: Role, _: &StrategySpec, task_types: &[String]) -> Self {
        Trading {
            min_price: 1.0,
            max_price: 200.0,
            arrival_rate_per_hour: Rate(1.0),
            task_mix: task_types.iter().map(|t| (t.clone(), 1.0)).collect(),
            units: None,
            order_ttl_ms: None,
            first_arrival_ms: None,
            max_orders: None,
            units_per_period: None,
        }
    }

    fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        in_range(&root.key("min_price"), self.min_price, 0.0, MAX_PRICE)?;
        in_range(&root.key("max_price"), self.max_price, 0.0, MAX_PRICE)?;
        if self.min_price > self.max_price {
            return bad(
                &root.key("max_price"),
                format!("min_price {} is above max_price {}", self.min_price, self.max_price),
            );
        }
        in_range(&root.key("arrival_rate"), self.arrival_rate_per_hour.0, 0.0, MAX_RATE_PER_HOUR)?;
        let mp = root.key("task_mix");
        for (k, w) in &self.task_mix {
            if !ctx.task_types.contains(k) {
                return bad(&mp.key(k), format!("unknown task type `{k}` (known: {})", ctx.task_types.join(", ")));
            }
            finite(&mp.key(k), *w)?;
            if *w < 0.0 {
                return bad(&mp.key(k), format!("weight {w} is negative"));
            }
        }
        if self.task_mix.values().sum::<f64>() <= 0.0 {
            return bad(&mp, "needs at least one task type with a positive weight");
        }
        if let Some(u) = &self.units {
            dist(&root.key("units"), u, Domain::closed(1.0, MAX_UNITS))?;
        }
        for (key, v, positive) in
            [("order_ttl", self.order_ttl_ms, true), ("first_arrival", self.first_arrival_ms, false)]
        {
            match v {
                Some(0) if positive => return bad(&root.key(key), "must be longer than 0"),
                Some(ms) if ms > MAX_SCENARIO_DURATION_MS => {
                    return bad(
                        &root.key(key),
                        format!(
                            "{} is longer than the limit of {}",
                            synmarket_engine::duration::format_ms(ms),
                            synmarket_engine::duration::format_ms(MAX_SCENARIO_DURATION_MS)
                        ),
                    );
                }
                _ => {}
            }
        }
        if self.max_orders == Some(0) {
            return bad(
                &root.key("max_orders"),
                "0 orders: an agent that may never trade; remove the population instead",
            );
        }
        if let Some(n) = self.units_per_period
            && !(1..=MAX_UNITS as u64).contains(&n)
        {
            return bad(&root.key("units_per_period"), format!("{n} is outside [1, {MAX_UNITS}]"));
        }
        Ok(())
    }
}

impl Trading {
    /// The task mix as `(task type index, weight)` in scenario order: the written mix, or every
    /// task type with weight 1 when the mix is empty.
    pub fn resolved_mix(&self, task_types: &[String]) -> Vec<(usize, f64)> {
        if self.task_mix.is_empty() {
            return (0..task_types.len()).map(|i| (i, 1.0)).collect();
        }
        let mut mix: Vec<(usize, f64)> =
            self.task_mix.iter().filter_map(|(k, w)| task_types.iter().position(|t| t == k).map(|i| (i, *w))).collect();
        mix.sort_by_key(|(i, _)| *i);
        mix
    }
}

/// Keys of requesters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requesting {
    /// Private value per unit (default U[40, 80]), or each trader's own schedule of unit values.
    pub value_per_unit: UnitValues,
    /// Minimum provider reputation asked for (default 0).
    pub min_reputation: Dist,
    /// Privacy levels of the tasks (default all public).
    pub privacy_mix: PrivacyMix,
    /// SLA terms; `None`: no SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaTerms>,
}

impl Group for Requesting {
    const ROLES: &'static [Role] = &[Role::Requester];

    fn defaults(_: Role, _: &StrategySpec, _: &[String]) -> Self {
        Requesting {
            value_per_unit: UnitValues::Draw(Dist::Uniform(40.0, 80.0)),
            min_reputation: Dist::Fixed(0.0),
            privacy_mix: PrivacyMix::default(),
            sla: None,
        }
    }

    fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        unit_values(&root.key("value_per_unit"), &self.value_per_unit, Side::Buy)?;
        dist(&root.key("min_reputation"), &self.min_reputation, Domain::closed(0.0, ctx.reputation.1.max(0.0)))?;
        self.privacy_mix.validate(&root.key("privacy_mix"))?;
        if let Some(s) = &self.sla {
            s.validate(&root.key("sla"))?;
        }
        Ok(())
    }
}

/// Keys of providers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Providing {
    /// Private cost per unit (default U[20, 60]), or each trader's own schedule of unit costs.
    pub cost_per_unit: UnitValues,
    /// Probability that each capability in a served task type's vocabulary is held (default 1).
    pub capability_coverage: f64,
    /// Holds the `confidential` attestation (default false).
    pub confidential_attested: bool,
    /// Declared usage cap in units per 24 h (`None`: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_cap_units_per_day: Option<Dist>,
    /// How the provider performs.
    pub reliability: Reliability,
}

impl Group for Providing {
    const ROLES: &'static [Role] = &[Role::Provider];

    fn defaults(_: Role, strategy: &StrategySpec, _: &[String]) -> Self {
        Providing {
            cost_per_unit: UnitValues::Draw(Dist::Uniform(20.0, 60.0)),
            capability_coverage: 1.0,
            confidential_attested: false,
            usage_cap_units_per_day: None,
            reliability: strategy.behaviour().reliability_preset().unwrap_or_default(),
        }
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        unit_values(&root.key("cost_per_unit"), &self.cost_per_unit, Side::Sell)?;
        probability(&root.key("capability_coverage"), self.capability_coverage)?;
        if let Some(u) = &self.usage_cap_units_per_day {
            dist(&root.key("usage_cap_units_per_day"), u, Domain::closed(1.0, MAX_USAGE_CAP))?;
        }
        self.reliability.validate(&root.key("reliability"))
    }
}

/// Checks a value or cost per unit: a distribution's range, or a schedule's lists (each non-empty,
/// at most `MAX_UNITS` units, every value in [0, `MAX_PRICE`], buyers' values never rising and
/// sellers' costs never falling from one unit to the next).
fn unit_values(path: &TomlPath, v: &UnitValues, side: Side) -> Check<()> {
    let dom = Domain::closed(0.0, MAX_PRICE);
    let lists = match v {
        UnitValues::Draw(d) => return dist(path, d, dom),
        UnitValues::Schedule(lists) => lists,
    };
    let at = path.key("schedule");
    for (i, list) in lists.iter().enumerate() {
        let li = at.index(i);
        if list.is_empty() {
            return bad(&li, "an empty list: each trader of a schedule trades at least one unit");
        }
        if list.len() > MAX_UNITS as usize {
            return bad(&li, format!("{} units exceed the limit of {MAX_UNITS} per trader", list.len()));
        }
        for (k, &x) in list.iter().enumerate() {
            dom.check(&li.index(k), x)?;
            let Some(&before) = k.checked_sub(1).and_then(|j| list.get(j)) else { continue };
            let (wrong, rule) = match side {
                Side::Buy => (x > before, "a buyer's unit values run from the highest down"),
                Side::Sell => (x < before, "a seller's unit costs run from the lowest up"),
            };
            if wrong {
                return bad(
                    &li.index(k),
                    format!("{x} after {before}: {rule}, in the order its units trade (sort the list)"),
                );
            }
        }
    }
    Ok(())
}

/// Keys whose value is itself a table of per-key defaults: a written table replaces only the keys
/// it writes (`[population.reliability]` with one key keeps the preset's other keys).
pub const MERGED_TABLES: &[&str] = &["reliability"];
