//! What a helpdesk account lets deskbridge send, kept before sending: the
//! plan's requests per minute ([`Budget`], in lanes so a call's own requests go
//! before bulk work and lookups) and the endpoints' own limits ([`Counts`]).
//! A leaf crate: the Zendesk and Freshdesk clients both spend from it, and the
//! server shares it between instances through its database ([`SharedBudget`]).

mod answer;
mod budget;
mod limits;
mod writes;

pub use answer::{endpoint_label, retry_after};
pub use budget::{
    Bucket, Budget, DEFAULT_LOOKUP_PERCENT, Lane, SharedBudget, as_lookup, in_lookup,
};
pub use limits::{Counted, Counts, Limit};
pub use writes::{noting_writes, writing};
