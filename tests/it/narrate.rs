//! The design's narrated example (`scenarios/market_simulation.toml`): who was turned away and why,
//! who matched at what price, and the price discovery block, all read from the engine.

use std::sync::{Arc, Mutex};

use synmarket::engine::{EscrowState, TaskStatus};
use synmarket::scenario::Scenario;

#[test]
fn market_simulation_tells_the_designs_story() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = Scenario::load(root.join("scenarios/market_simulation.toml")).unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let r = synmarket::narrate::narrate(&s, Box::new(move |l| sink.lock().unwrap().push(l))).unwrap();
    let text = lines.lock().unwrap().join("\n");

    // Participants with the design's reputations.
    for (name, rep) in [("provider_1", 50), ("provider_2", 120), ("provider_3", 175)] {
        assert!(text.contains(&format!("{name:<16}")) && text.contains(&format!("reputation {rep:>4}")), "{text}");
    }
    // The code_generation request opens an auction; provider_1 is rejected for its reputation.
    assert!(text.contains("startup requests 100 units of code_generation needing [rust] at up to 50"), "{text}");
    assert!(text.contains("opens a first-accept auction"), "{text}");
    assert!(text.contains("rejects it: its reputation 50 is below the required 60"), "{text}");
    // provider_2 matched at 48 for 100 units, 4800 tokens; provider_3 for ml_training at 75.
    assert!(text.contains("provider_2 (reputation 120, ask 48"), "{text}");
    assert!(text.contains("takes 100 units of request 0: effective price 48"), "{text}");
    assert!(text.contains("total cost 4800 tokens"), "{text}");
    assert!(text.contains("provider_3 (reputation 175, ask 75"), "{text}");
    assert!(text.contains("takes 500 units"), "{text}");
    assert!(text.contains("SLA met"), "{text}");
    assert!(text.contains("== Price discovery"), "{text}");

    // The same facts from the engine's state, not from the text.
    let m = &r.market;
    let a = m.assignments();
    assert_eq!(a.len(), 2);
    assert_eq!((a[0].units, a[0].price_per_unit, a[0].provider.0), (100, 48, 3));
    assert_eq!((a[1].units, a[1].price_per_unit, a[1].provider.0), (500, 75, 4));
    assert!(a.iter().all(|x| x.status == TaskStatus::Completed));
    assert!(m.escrows().iter().all(|e| e.state == EscrowState::Released));
    let provider_1_offer = m.orders().iter().find(|o| o.trader.0 == 2).unwrap();
    assert_eq!(provider_1_offer.filled_units, 0, "provider_1 never trades");
}
