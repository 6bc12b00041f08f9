"""synmarket.Market: the engine from Python."""

import pytest

import synmarket


def test_a_trade_escrow_and_release():
    m = synmarket.Market({"auction_window": "1m", "review_window": "10m"})
    tt = m.register_task_type("inference")
    buyer = m.register_peer(endowment=10_000)
    seller = m.register_peer(account=1)
    m.place_order("sell", seller, 40, 2, tt)
    m.place_order("buy", buyer, 50, 2, tt)
    events = m.drain_events()
    kinds = [next(iter(e)) for e in events]
    assert "OrderPlaced" in kinds and any(k in ("Matched", "Assigned") for k in kinds), kinds
    assert m.wallet(buyer) == (10_000 - 80, 0)  # pay as ask: 2 units at 40, held in escrow
    m.start_task(0, seller)
    m.complete_task(0, seller, account=1)
    m.approve_release(0, buyer)
    assert m.wallet(seller)[0] == 80
    m.check_invariants()
    assert len(m.ledger_digest()) == 32


@pytest.fixture
def small():
    """A default market with one task type and one requester holding 100 tokens."""
    m = synmarket.Market()
    return m, m.register_task_type("t"), m.register_peer(endowment=100)


def test_refusals_raise_market_error_with_the_engine_code(small):
    m, tt, p = small
    with pytest.raises(synmarket.MarketError) as e:
        m.place_order("buy", p, 0, 1, tt)
    assert e.value.args[0] == "zero_price"
    assert e.value.code == "zero_price"
    with pytest.raises(synmarket.MarketError):
        m.place_order("buy", p, 1000, 1, tt)  # more than the wallet holds
    with pytest.raises(ValueError, match="side"):
        m.place_order("hold", p, 1, 1, tt)
    with pytest.raises(synmarket.MarketError):
        m.advance_to(10)
        m.advance_to(5)  # time never goes back
    with pytest.raises(ValueError, match="market"):
        synmarket.Market({"fee_bps": -1})
    with pytest.raises(ValueError, match="unknown field"):
        synmarket.Market({"no_such_key": 1})
    with pytest.raises(ValueError, match=r"^market\.call_interval: applies to `institution = \"call_market\"`"):
        synmarket.Market({"call_interval": "1m"})
    with pytest.raises(ValueError, match=r"^market\.fee_bps"):
        synmarket.Market({"fee_bps": 20_000})


def test_dir_lists_the_engine_methods(small):
    m, _, _ = small
    assert {"place_order", "advance_to", "best_ask", "drain_events"} <= set(dir(m))
