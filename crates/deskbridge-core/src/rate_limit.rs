//! What a helpdesk's "429 Too Many Requests" holds back.
//!
//! A helpdesk's limits are not one bucket. Zendesk ("Rate limits" in its API
//! reference) has the plan's requests per minute for the whole account, shown in
//! `X-Rate-Limit-Remaining` (and `ratelimit-remaining` on Ticketing API answers,
//! "Best practices for avoiding rate limiting"), and endpoint limits such as 30
//! updates per 10 minutes per ticket. A 429 is the account's only when the
//! account has no requests left; otherwise it is that endpoint's (or that
//! ticket's) limit, and pausing every request for it would stop unrelated calls
//! for nothing. Freshdesk's per-minute account and per-endpoint limits read the
//! same way. The client reads the answer; this module decides; the client then
//! pauses what was decided.

/// What the request that got the 429 was, as far as limits go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedRequest {
    /// An update of this ticket (a per-ticket limit may apply).
    TicketUpdate(u64),
    /// An update of a ticket whose id the client could not tell.
    UnknownTicketUpdate,
    /// A request to an endpoint with a per-minute limit of its own
    /// (Freshdesk: ticket creates, ticket updates, ticket and contact lists).
    LimitedEndpoint,
    /// Anything else.
    Other,
}

/// What a 429 holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldBack {
    /// Every request to the account, in every instance, for the `Retry-After`.
    Account,
    /// This ticket's updates (queued ones wait unsent), and this request.
    Ticket(u64),
    /// Every request to this endpoint (queued ones wait unsent), and this one.
    Endpoint,
    /// Only this request, through its step's retry.
    Request,
}

impl HeldBack {
    /// The `scope` label of `deskbridge_zendesk_rate_limited_total`.
    pub fn scope(self) -> &'static str {
        match self {
            HeldBack::Account => "account",
            HeldBack::Ticket(_) | HeldBack::Endpoint | HeldBack::Request => "endpoint",
        }
    }
}

/// What a 429 holds back, given the account's requests left this minute as the
/// answer said (`None` when it did not say) and what the request was.
///
/// - None left: the account's limit, whatever the request.
/// - Requests left: an endpoint's limit: the ticket's, for a ticket update;
///   the endpoint's, for an endpoint with a limit of its own.
/// - Not said: a ticket update is taken for the ticket's limit (Zendesk's
///   per-ticket 429 need not carry the account's count); anything else for the
///   account's, the safe reading when nothing tells them apart (Freshdesk sends
///   no rate-limit headers with a 429, so its client passes the count of the
///   answer before).
pub fn held_back(requests_left: Option<u64>, request: LimitedRequest) -> HeldBack {
    match (requests_left, request) {
        (Some(0), _) => HeldBack::Account,
        (None, LimitedRequest::Other | LimitedRequest::LimitedEndpoint) => HeldBack::Account,
        (Some(_), LimitedRequest::LimitedEndpoint) => HeldBack::Endpoint,
        (_, LimitedRequest::TicketUpdate(ticket)) => HeldBack::Ticket(ticket),
        (_, LimitedRequest::UnknownTicketUpdate) | (Some(_), LimitedRequest::Other) => {
            HeldBack::Request
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_case_holds_back_what_its_limit_covers() {
        use HeldBack::*;
        use LimitedRequest::*;
        let cases = [
            // (requests left, request, held back)
            (Some(0), Other, Account),
            (Some(0), TicketUpdate(7), Account),
            (Some(0), UnknownTicketUpdate, Account),
            (None, Other, Account),
            (None, TicketUpdate(7), Ticket(7)),
            (None, UnknownTicketUpdate, Request),
            (Some(1), Other, Request),
            (Some(650), TicketUpdate(7), Ticket(7)),
            (Some(650), UnknownTicketUpdate, Request),
            (Some(0), LimitedEndpoint, Account),
            (None, LimitedEndpoint, Account),
            (Some(120), LimitedEndpoint, Endpoint),
        ];
        for (left, request, expected) in cases {
            assert_eq!(
                held_back(left, request),
                expected,
                "{left:?} requests left, {request:?}"
            );
        }
    }

    #[test]
    fn only_the_accounts_limit_is_labelled_account() {
        assert_eq!(HeldBack::Account.scope(), "account");
        assert_eq!(HeldBack::Ticket(1).scope(), "endpoint");
        assert_eq!(HeldBack::Request.scope(), "endpoint");
        assert_eq!(HeldBack::Endpoint.scope(), "endpoint");
    }
}
