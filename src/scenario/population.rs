//! Reading a `[[population]]` table: its header keys (`name`, `role`, `count`, `strategy`), then
//! each key handed to the group that owns it (agents' `spec` groups and the strategy's own
//! parameters), with the group's defaults for what is not written.
//!
//! Which keys a population may write follows from the typed structs themselves (their serde field
//! names, `synmarket_agents::config::field_names`): no list of keys is kept here. A key that no
//! group of the population's role and strategy owns is refused, naming who may set it (another
//! role or other strategies) or, for a key nobody owns, the closest known key.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use synmarket_agents::config::{Check, Invalid, TomlPath, bad, field_names};
use synmarket_agents::population::{Common, Group, MERGED_TABLES, Providing, Requesting, Trading};
use synmarket_agents::spec::Context;
use synmarket_agents::{PopulationSpec, Role, Strategy, StrategySpec};

use super::messages;

/// The keys every population has.
const HEADER: [&str; 4] = ["name", "role", "count", "strategy"];

/// Most agents in one population.
pub use synmarket_agents::spec::MAX_COUNT;

/// The header of a population table.
#[derive(Deserialize)]
struct Head {
    name: String,
    role: Role,
    count: i64,
    strategy: Option<Strategy>,
}

/// The strategy a role gets when `strategy` is not written.
pub fn default_strategy(role: Role) -> Strategy {
    match role {
        Role::Requester | Role::Provider => Strategy::ZiConstrained,
        Role::Arbitrator => Strategy::HonestArbitrator,
    }
}

/// One group of keys: its field names and the roles that may set them.
struct GroupKeys {
    fields: &'static [&'static str],
    roles: &'static [Role],
}

fn groups() -> [GroupKeys; 4] {
    fn of<G: Group>() -> GroupKeys {
        GroupKeys { fields: field_names::<G>(), roles: G::ROLES }
    }
    [of::<Common>(), of::<Trading>(), of::<Requesting>(), of::<Providing>()]
}

/// Reads `value` as `T`; an error names the path inside `value` (prefixed by `at`) and is put in
/// the user's words.
pub(super) fn read<T: DeserializeOwned>(at: &TomlPath, value: toml::Value) -> Check<T> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut path = at.clone();
        for seg in e.path().iter() {
            path = match seg {
                serde_path_to_error::Segment::Seq { index } => path.index(*index),
                serde_path_to_error::Segment::Map { key } => path.key(key),
                serde_path_to_error::Segment::Enum { variant } => path.key(variant),
                serde_path_to_error::Segment::Unknown => path,
            };
        }
        let reason = e.inner().to_string();
        Invalid { reason: messages::serde_reason(&reason, path.last_key()), path }
    })
}

/// `defaults` with the written keys of `user` laid over it; a key of [`MERGED_TABLES`] written as
/// a table replaces only the keys it writes.
fn overlay<G: Serialize>(defaults: &G, user: toml::Table) -> toml::Value {
    let mut base = match toml::Value::try_from(defaults) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    for (k, v) in user {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(u)) if MERGED_TABLES.contains(&k.as_str()) => {
                b.extend(u);
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    toml::Value::Table(base)
}

/// Reads group `G` from its keys `part` of a population of `role` playing `strategy`.
fn group<G: Group>(
    at: &TomlPath,
    part: toml::Table,
    role: Role,
    strategy: &StrategySpec,
    task_types: &[String],
) -> Check<G> {
    read(at, overlay(&G::defaults(role, strategy, task_types), part))
}

/// Reads and checks population `table` (at `at`, e.g. `population[2]`).
pub(super) fn population(at: &TomlPath, table: &toml::Table, ctx: &Context<'_>) -> Check<PopulationSpec> {
    let header: toml::Table =
        table.iter().filter(|(k, _)| HEADER.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    let head: Head = read(at, toml::Value::Table(header))?;
    if head.count < 1 {
        return bad(&at.key("count"), format!("{} agents: a population needs at least 1", head.count));
    }
    if head.count > MAX_COUNT {
        return bad(&at.key("count"), format!("{} agents exceed the limit of {MAX_COUNT} per population", head.count));
    }
    let role = head.role;
    let kind = head.strategy.unwrap_or_else(|| default_strategy(role));
    if !kind.roles().contains(&role) {
        let fits: Vec<&str> = kind.roles().iter().map(|r| r.as_str()).collect();
        let for_role: Vec<&str> =
            Strategy::ALL.iter().filter(|s| s.roles().contains(&role)).map(|s| s.as_str()).collect();
        return bad(
            &at.key("strategy"),
            format!(
                "strategy {kind} does not fit role {role} (it plays {}; a {role} can use {})",
                fits.join(", "),
                for_role.join(", ")
            ),
        );
    }
    let groups = groups();
    let params = kind.param_keys();
    let mut parts: [toml::Table; 4] = Default::default();
    let mut own = toml::Table::new();
    for (k, v) in table {
        if HEADER.contains(&k.as_str()) {
            continue;
        }
        if params.contains(&k.as_str()) {
            own.insert(k.clone(), v.clone());
            continue;
        }
        match groups.iter().position(|g| g.fields.contains(&k.as_str())) {
            Some(g) if groups[g].roles.contains(&role) => {
                parts[g].insert(k.clone(), v.clone());
            }
            owner => return bad(&at.key(k), not_here(k, owner.map(|g| groups[g].roles), role, kind)),
        }
    }
    let strategy = read_params(at, kind, own)?;
    let tt = ctx.task_types;
    let [common, trading, requesting, providing] = parts;
    let spec = PopulationSpec {
        name: head.name,
        role,
        count: head.count as u32,
        common: group(at, common, role, &strategy, tt)?,
        trading: group(at, trading, role, &strategy, tt)?,
        requesting: group(at, requesting, role, &strategy, tt)?,
        providing: group(at, providing, role, &strategy, tt)?,
        strategy,
    };
    spec.validate(ctx).map_err(|e| Invalid { path: at.join(&e.path), reason: e.reason })?;
    Ok(spec)
}

/// The strategy's parameters, read through `serde_path_to_error` for the key of an error.
fn read_params(at: &TomlPath, kind: Strategy, own: toml::Table) -> Check<StrategySpec> {
    struct Params(Strategy);
    impl<'de> serde::de::DeserializeSeed<'de> for Params {
        type Value = StrategySpec;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<StrategySpec, D::Error> {
            StrategySpec::deserialize_params(self.0, d)
        }
    }
    let mut track = serde_path_to_error::Track::new();
    let d = serde_path_to_error::Deserializer::new(toml::Value::Table(own), &mut track);
    serde::de::DeserializeSeed::deserialize(Params(kind), d).map_err(|e: toml::de::Error| {
        let path = track.path();
        let mut p = at.clone();
        for seg in path.iter() {
            if let serde_path_to_error::Segment::Map { key } = seg {
                p = p.key(key);
            }
        }
        Invalid { reason: messages::serde_reason(&e.to_string(), p.last_key()), path: p }
    })
}

/// Why key `k` cannot be set here: it belongs to other roles (`owner`), to other strategies, or
/// to nobody.
fn not_here(k: &str, owner: Option<&[Role]>, role: Role, kind: Strategy) -> String {
    let this = format!("this population is a {role} with strategy {kind}");
    if let Some(roles) = owner {
        let who: Vec<String> = roles.iter().map(|r| format!("{r}s")).collect();
        return format!("applies only to {}; {this}", who.join(" and "));
    }
    let strategies: Vec<String> =
        Strategy::ALL.iter().filter(|s| s.param_keys().contains(&k)).map(|s| format!("\"{s}\"")).collect();
    if !strategies.is_empty() {
        return format!("applies only to populations with strategy = {}; {this}", strategies.join(" or "));
    }
    let mut known = keys_for(Some(role));
    known.extend(kind.param_keys().iter().copied());
    messages::unknown_key(k, &known)
}

/// The keys a population of `role` may write outside its strategy's own (every role's when
/// `None`): the header and the fields of the groups that role reads.
pub(super) fn keys_for(role: Option<Role>) -> Vec<&'static str> {
    let mut known: Vec<&'static str> = HEADER.to_vec();
    for g in groups().iter().filter(|g| role.is_none_or(|r| g.roles.contains(&r))) {
        known.extend(g.fields.iter().copied());
    }
    known
}
