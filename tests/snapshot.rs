//! What a snapshot says about each host (the browser draws it): an outage shows as `down`, a
//! host whose servers are all busy as `overloaded` with its sessions and backlog, a greylisting
//! MX as `greylisting` while it holds mail back and `up` once it has nothing left to hold.
//! Taking snapshots never changes the run.

mod common;

use mxsim_core::snapshot::{HostCondition, HostView, Snapshot};
use mxsim_core::time::SimTime;
use mxsim_core::Simulation;

const MIN: u64 = 60_000;

fn scenario(file: &str) -> String {
    std::fs::read_to_string(format!("scenarios/{file}")).unwrap()
}

/// The snapshot of `sim` once it has run to `t`.
fn at(sim: &mut Simulation, t: u64) -> Snapshot {
    sim.run_until(SimTime(t), u64::MAX).unwrap();
    sim.snapshot()
}

fn host<'a>(s: &'a Snapshot, id: &str) -> &'a HostView {
    s.hosts.iter().find(|h| h.id == id).unwrap()
}

#[test]
fn a_retry_storm_shows_the_relay_down_then_overloaded_with_a_full_backlog() {
    let mut sim = Simulation::new(common::load(&scenario("retry-storm.toml")));
    let relay = "relay.example.net";

    // Half its capacity before the outage: up, some sessions busy, nobody waiting.
    let s = at(&mut sim, 30 * MIN);
    let h = host(&s, relay);
    assert_eq!(h.state, HostCondition::Up);
    let load = h.load.expect("the relay declares a capacity");
    assert_eq!(load.sessions, 20);
    assert!(load.busy < 20, "{load:?}");

    // In the outage window (1h–1h30).
    assert_eq!(
        host(&at(&mut sim, 75 * MIN), relay).state,
        HostCondition::Down
    );

    // After it: every server busy and the backlog full of retries.
    let s = at(&mut sim, 2 * 60 * MIN);
    let h = host(&s, relay);
    assert_eq!(h.state, HostCondition::Overloaded);
    let load = h.load.unwrap();
    assert_eq!(load.busy, 20);
    assert!(load.waiting > 500, "{load:?}");

    // Hosts without a capacity have no load to show.
    assert_eq!(host(&s, "mx.example.com").load, None);
    assert_eq!(host(&s, "mx.example.com").state, HostCondition::Up);
}

#[test]
fn a_greylisting_mx_shows_as_greylisting_while_it_holds_mail_then_up() {
    let mut sim = Simulation::new(common::load(&scenario("greylisting.toml")));
    let mx = "mx.example.com";
    // New mail arrives for 2 h, 300 an hour, and each first attempt is deferred.
    assert_eq!(
        host(&at(&mut sim, 30 * MIN), mx).state,
        HostCondition::Greylisting
    );
    // No new mail after 2 h: the last deferral is more than the 5-minute delay ago.
    assert_eq!(
        host(&at(&mut sim, 3 * 60 * MIN), mx).state,
        HostCondition::Up
    );
}

#[test]
fn snapshots_do_not_change_the_run() {
    for file in ["retry-storm.toml", "greylisting.toml"] {
        let text = scenario(file);
        let mut looked = Simulation::new(common::load(&text));
        let mut t = 0;
        while looked.stopped().is_none() {
            t += 7 * MIN;
            at(&mut looked, t);
        }
        let mut plain = Simulation::new(common::load(&text));
        plain.run();
        assert_eq!(looked.report().digest, plain.report().digest, "{file}");
    }
}
