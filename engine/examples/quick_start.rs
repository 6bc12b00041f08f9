//! The design's quick start: one requester, one provider, a `code_generation` task needing
//! `rust` with minimum reputation 50; the provider offers 200 units at 45, the requester asks for
//! 100 units at up to 50. Prints the assignment and the price discovery for the task type.
//!
//! Run: `cargo run -p synmarket-engine --example quick_start`

use synmarket_engine::{AccountId, ComputeTaskSpec, MINUTE, Market, MarketConfig, NewOrder, PeerSpec, PriceRule};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = MarketConfig { pricing: PriceRule::Ask, ..MarketConfig::default() };
    let mut market = Market::new(config)?;
    let code_generation = market.register_task_type("code_generation")?;
    let rust = market.capabilities(["rust"])?;

    let requester = market.register_peer(PeerSpec { endowment: 10_000, ..Default::default() }, 0)?;
    let provider = market.register_peer(PeerSpec { account: Some(AccountId(1)), ..Default::default() }, 0)?;
    println!("requester: peer {requester}, reputation {}", market.reputation(requester));
    println!("provider:  peer {provider}, reputation {}", market.reputation(provider));

    let offer =
        market.place_order(NewOrder::sell(provider, 45, 200, ComputeTaskSpec::new(code_generation, rust)), 0)?;
    println!("offer {offer}: 200 units of code_generation [rust] at 45 tokens/unit");

    let mut spec = ComputeTaskSpec::new(code_generation, rust);
    spec.min_reputation = 50.0;
    let request = market.place_order(NewOrder::buy(requester, 50, 100, spec), MINUTE)?;
    println!("request {request}: 100 units of code_generation [rust] at up to 50 tokens/unit, min reputation 50");

    println!("\nassignments:");
    for a in market.assignments() {
        println!(
            "  assignment {}: request {} -> offer {} (provider {}), {} units at {} tokens/unit = {} tokens in escrow {}",
            a.id,
            a.request,
            a.offer,
            a.provider,
            a.units,
            a.price_per_unit,
            a.amount(),
            a.escrow()
        );
    }

    println!("\nprice discovery (24 h window):");
    println!(
        "  {:<16} {:>5} {:>8} {:>8} {:>5} {:>5} {:>8}",
        "task type", "count", "average", "vwap", "min", "max", "volume"
    );
    if let Some(s) = market.price_discovery(code_generation, MINUTE)? {
        println!(
            "  {:<16} {:>5} {:>8.2} {:>8.2} {:>5} {:>5} {:>8}",
            "code_generation", s.count, s.mean_price, s.vwap, s.min_price, s.max_price, s.volume_units
        );
    }
    let w = market.wallet(requester);
    println!("\nrequester wallet: {} available, {} locked", w.available, w.locked);
    market.check_invariants()?;
    Ok(())
}
