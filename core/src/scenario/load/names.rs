//! Host references, shared by every section that names a host: resolve a name to its id with
//! a role check and a near-name suggestion, and check that a link joins two hosts. One place
//! for these messages, so every section words them the same way.

use super::*;

/// What a host reference must be.
#[derive(Clone, Copy)]
pub(super) enum Want {
    /// Any declared host; suggestions from every host.
    Any,
    /// A host with `role`; otherwise `host "x" is not a <role>` with `help`. Suggestions come
    /// from the hosts of that role (`suggest_role`) or from every host.
    Role {
        role: Role,
        help: &'static str,
        suggest_role: bool,
    },
    /// An MX record's exchange: any host but a sender.
    Exchange,
}

/// Resolves host `name`, written at `span` of field `path`, reporting an unknown name (with a
/// near-name suggestion) or a wrong role.
pub(super) fn resolve_host(
    r: &mut Reader,
    name: &str,
    span: Option<std::ops::Range<usize>>,
    path: &str,
    hosts: &[HostSpec],
    want: Want,
) -> Option<HostId> {
    match r.host_index.get(name).copied().filter(|&i| i < hosts.len()) {
        Some(i) => {
            let role = hosts[i].role;
            match want {
                Want::Role {
                    role: want, help, ..
                } if role != want => {
                    r.error(
                        path,
                        span,
                        format!("host \"{name}\" is not a {}", want.name()),
                        Some(help.into()),
                    );
                    None
                }
                Want::Exchange if role == Role::Sender => {
                    r.error(
                        path,
                        span,
                        format!("MX host \"{name}\" is a sender"),
                        Some("an MX record names an mx (or relay) host".into()),
                    );
                    None
                }
                _ => Some(HostId::from_index(i)),
            }
        }
        None if r.hosts_refused || r.refused_ids.contains(name) => None,
        None => {
            let help = match want {
                Want::Role {
                    role,
                    suggest_role: true,
                    ..
                } => unknown_name_help(
                    name,
                    hosts
                        .iter()
                        .filter(|h| h.role == role)
                        .map(|h| h.id.as_str()),
                    role.name(),
                ),
                _ => unknown_name_help(name, hosts.iter().map(|h| h.id.as_str()), "host"),
            };
            r.error(path, span, format!("unknown host \"{name}\""), Some(help));
            None
        }
    }
}

/// Reports field `path` (at `span`) when no link goes from `from` to `to`; `why` ends the
/// help (e.g. what the link's latency means there).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_link(
    r: &mut Reader,
    links: &[LinkSpec],
    hosts: &[HostSpec],
    from: HostId,
    to: HostId,
    path: &str,
    span: Option<std::ops::Range<usize>>,
    why: &str,
) {
    if r.link_set.contains(&(from.index(), to.index()))
        || links.iter().any(|l| l.from == from && l.to == to)
    {
        return;
    }
    let (a, b) = (&hosts[from.index()].id, &hosts[to.index()].id);
    r.error(
        path,
        span,
        format!("no link from \"{a}\" to \"{b}\""),
        Some(format!("add [[links]] from = \"{a}\" to = \"{b}\"{why}")),
    );
}
