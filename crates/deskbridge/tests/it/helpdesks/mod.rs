//! The helpdesk rules, one test list run against every helpdesk backend that
//! talks to an outside account (Zendesk, Freshdesk), each behind its emulator:
//! what a contact center sees in its helpdesk after a call (the contact, the
//! ticket, the call's comment, the assignee, the fields) must not depend on
//! which helpdesk it uses. `accounts.rs` reads each emulator's records in the
//! same words; `rules.rs` holds the tests.

mod accounts;
mod rules;

pub(crate) use accounts::{Account, Comment, FreshdeskAccount, ZendeskAccount};

/// Each test of `rules.rs`, once per backend.
macro_rules! on_every_helpdesk {
    ($($test:ident),* $(,)?) => {
        mod zendesk {
            $(#[test] fn $test() { super::rules::$test::<super::ZendeskAccount>(); })*
        }
        mod freshdesk {
            $(#[test] fn $test() { super::rules::$test::<super::FreshdeskAccount>(); })*
        }
    };
}

on_every_helpdesk!(
    a_new_caller_gets_a_contact_and_a_ticket_carrying_the_call_and_a_repeat_caller_no_second_contact,
    a_known_caller_is_found_by_a_number_typed_by_hand,
    the_reuse_window_puts_the_call_on_the_callers_recent_ticket,
    an_ivr_ticket_number_is_used_only_when_it_is_the_callers,
    call_data_fills_custom_fields_and_the_ticket_is_assigned_by_email,
    missed_calls_and_voicemails_say_what_happened,
    a_call_on_a_ticket_closed_meanwhile_goes_onto_a_follow_up,
    with_the_mirror_loaded_callers_are_found_and_made_without_a_search,
    a_chat_is_archived_solved_or_escalated_open_with_its_note,
    a_callers_company_is_found_by_name_or_made_once,
    call_data_sends_the_ticket_to_a_group,
);
