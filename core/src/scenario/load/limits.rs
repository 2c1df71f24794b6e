//! `[limits]`: the limits that refuse oversize scenarios up front (DESIGN §7).
//! Part of the loader (one file per section of docs/scenario.md); see [`super`].

use super::*;

pub(super) fn read_limits(r: &mut Reader, top: &Fields<'_>) -> Limits {
    let mut limits = Limits::DEFAULT;
    let Some(node) = top.get("limits") else {
        return limits;
    };
    let Some(f) = r.table(node, "limits", &["messages_max", "events_max", "hosts_max"]) else {
        return limits;
    };
    // Message ids and per-message attempt counts are u32 (attempts are bounded by the event
    // count), so those limits stop at `ids::ID_MAX`; host ids take 20 bits of the attempt
    // draws' slot counter, so hosts stop at `random::HOSTS_MAX`.
    let mut read = |key: &str, slot: &mut u64, max: u64| {
        if let Some(n) = f.get(key) {
            if let Some(v) = r.unsigned(n, &f.path_of(key), max) {
                if v == 0 {
                    r.error(
                        &f.path_of(key),
                        n.span.clone(),
                        "must be at least 1, got 0".into(),
                        Some("a limit of 0 would refuse every scenario; leave it out for the default".into()),
                    );
                } else {
                    *slot = v;
                }
            }
        }
    };
    read("messages_max", &mut limits.messages_max, crate::ids::ID_MAX);
    read("events_max", &mut limits.events_max, crate::ids::ID_MAX);
    read("hosts_max", &mut limits.hosts_max, crate::random::HOSTS_MAX);
    limits
}
