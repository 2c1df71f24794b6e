//! Dense typed ids: the names every layer uses for hosts, domains, messages and MTAs.
//!
//! This is the bottom layer of core (ARCHITECTURE.md, "Layers"): it imports nothing from the
//! crate, so any module may name a host or a message without depending on the scenario, the
//! network or the simulation. Each id is a `u32` index into a dense `Vec`; the loader refuses
//! scenarios whose counts would not fit (`limits.hosts_max` and `limits.messages_max` are
//! capped at [`ID_MAX`]), so the conversions below never truncate.

/// Largest count of any id kind a scenario may declare or generate: ids are `u32` indices.
/// The loader refuses larger `limits` values with a diagnostic naming the field.
pub const ID_MAX: u64 = u32::MAX as u64;

/// Dense index of a host in `Scenario::hosts` (also its node index in the topology).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// Dense index of a domain in `Scenario::domains`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainId(pub u32);

/// Dense index of a message, in arrival order (the `message` field of trace records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u32);

/// Dense index of an MTA: 0 is the sender, then each store-and-forward relay in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MtaId(pub u32);

impl MtaId {
    /// The MTA whose policy is under test.
    pub const SENDER: MtaId = MtaId(0);
}

/// Dense index of a destination, the key of concurrency windows and shared retry state: the
/// first relay of an MTA's route (ids below the host count are host ids), or a recipient
/// domain for direct delivery (the host count plus its domain id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestinationId(pub u32);

/// Implements `index()` (for `Vec` access) and `from_index` (checked) for an id type.
macro_rules! dense_index {
    ($($id:ident),*) => {$(
        impl $id {
            /// The id as a `Vec` index.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of index `i`. Panics if `i` exceeds [`ID_MAX`]: the loader's limits
            /// make that a bug, never a user error.
            #[inline]
            pub fn from_index(i: usize) -> Self {
                $id(u32::try_from(i).expect("id beyond ID_MAX: the loader's limits prevent this"))
            }
        }
    )*};
}

dense_index!(HostId, DomainId, MessageId, MtaId, DestinationId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_up_to_id_max() {
        assert_eq!(HostId::from_index(7).index(), 7);
        assert_eq!(MessageId::from_index(ID_MAX as usize).0, u32::MAX);
    }

    #[test]
    #[should_panic(expected = "beyond ID_MAX")]
    fn an_index_past_id_max_is_a_bug() {
        let _ = MtaId::from_index(ID_MAX as usize + 1);
    }
}
