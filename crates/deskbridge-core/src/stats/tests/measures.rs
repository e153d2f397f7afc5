//! Each measure's definition, one case at a time.

use super::*;

#[test]
fn answered_exactly_at_the_threshold_is_within_it_and_just_after_is_not() {
    let at = offers(&answered_after(secs(20)), &TH);
    assert_eq!(at.len(), 1);
    assert_eq!(at[0].ending, Ending::Answered);
    assert_eq!(at[0].wait_ms, secs(20));
    assert!(at[0].answered_within);

    let after = offers(&answered_after(secs(20) + 1), &TH);
    assert_eq!(after[0].ending, Ending::Answered);
    assert!(!after[0].answered_within);

    let late = totals(&answered_after(secs(45)), &TH);
    assert_eq!(
        (late.offered, late.answered, late.answered_within),
        (1, 1, 0)
    );
    assert_eq!(late.service_level(), Some(0.0));
    assert_eq!(late.average_speed_of_answer_s(), Some(45.0));
    assert_eq!(late.average_talk_s(), Some(60.0));
}

#[test]
fn the_answering_agent_and_the_talk_time_count_with_the_answer() {
    let offer = &offers(&answered_after(secs(3)), &TH)[0];
    assert_eq!(offer.agent.as_deref(), Some("ann@acme.com"));
    assert_eq!(offer.talk_ms, secs(60));
    // The reported duration wins over the timestamps.
    let mut call = answered_after(secs(3));
    call.duration_s = Some(42);
    assert_eq!(offers(&call, &TH)[0].talk_ms, secs(42));
}

#[test]
fn a_hang_up_before_the_short_abandon_threshold_is_a_short_abandon_and_at_it_an_abandon() {
    assert_eq!(
        endings(&hung_up_after(secs(5) - 1), &TH),
        [(q("sales"), Ending::ShortAbandoned)]
    );
    assert_eq!(
        endings(&hung_up_after(secs(5)), &TH),
        [(q("sales"), Ending::Abandoned)]
    );
    // Without a short-abandon threshold every hang-up while waiting counts.
    let none = Thresholds {
        short_abandon_seconds: 0,
        ..TH
    };
    assert_eq!(
        endings(&hung_up_after(0), &none),
        [(q("sales"), Ending::Abandoned)]
    );
}

#[test]
fn short_abandons_leave_the_service_level_and_abandons_count_against_it() {
    let mut sum = totals(&answered_after(secs(10)), &TH);
    sum += totals(&hung_up_after(secs(2)), &TH);
    assert_eq!((sum.offered, sum.short_abandoned), (2, 1));
    assert_eq!(sum.service_level(), Some(1.0));
    sum += totals(&hung_up_after(secs(30)), &TH);
    assert_eq!(sum.abandoned, 1);
    assert_eq!(sum.service_level(), Some(0.5));
}

#[test]
fn a_call_sent_on_to_another_queue_is_offered_in_both_and_ends_in_the_second() {
    let call = Script::inbound()
        .ringing(0, Some("first-line"))
        .ringing(secs(15), Some("second-line"))
        .answered(secs(25), Some("second-line"))
        .ended(secs(85), EndReason::Completed, Some("second-line"))
        .call();
    let visits = call.queue_visits();
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0].left, Some(QueueLeft::Transferred));
    assert_eq!(visits[0].left_at, Some(t(secs(15))));
    assert_eq!(visits[1].entered_at, t(secs(15)));
    assert_eq!(visits[1].left, Some(QueueLeft::Answered));

    let offers = offers(&call, &TH);
    assert_eq!(offers[0].queue, q("first-line"));
    assert_eq!(offers[0].ending, Ending::Transferred);
    assert_eq!(offers[0].agent, None);
    assert_eq!(offers[1].queue, q("second-line"));
    assert_eq!(offers[1].ending, Ending::Answered);
    // The caller's whole wait: 25 s, not the 10 s in the second queue.
    assert_eq!(offers[1].wait_ms, secs(25));
    assert!(!offers[1].answered_within);

    // The group counts the call once in its service level.
    let sum = totals(&call, &TH);
    assert_eq!((sum.offered, sum.transferred, sum.answered), (2, 1, 1));
    assert_eq!(sum.service_level_offers(), 1);
    assert_eq!(sum.service_level(), Some(0.0));
}

#[test]
fn a_caller_who_hangs_up_after_a_transfer_abandons_in_the_second_queue() {
    let call = Script::inbound()
        .ringing(0, Some("first-line"))
        .ringing(secs(3), Some("second-line"))
        .ended(secs(8), EndReason::Abandoned, None)
        .call();
    // 8 s in all: past the short-abandon threshold, though 5 s in the queue.
    assert_eq!(
        endings(&call, &TH),
        [
            (q("first-line"), Ending::Transferred),
            (q("second-line"), Ending::Abandoned)
        ]
    );
}

#[test]
fn a_queue_visited_twice_counts_twice() {
    let call = Script::inbound()
        .ringing(0, Some("a"))
        .ringing(secs(10), Some("b"))
        .ringing(secs(20), Some("a"))
        .answered(secs(30), None)
        .ended(secs(40), EndReason::Completed, None)
        .call();
    assert_eq!(
        endings(&call, &TH),
        [
            (q("a"), Ending::Transferred),
            (q("b"), Ending::Transferred),
            (q("a"), Ending::Answered)
        ]
    );
    let sum = totals(&call, &TH);
    assert_eq!(sum.offered - sum.transferred, 1);
}

#[test]
fn a_call_without_queue_data_counts_in_its_group_from_its_first_ringing() {
    let call = Script::inbound()
        .ringing(secs(2), None)
        .answered(secs(14), None)
        .ended(secs(74), EndReason::Completed, None)
        .call();
    let offers = offers(&call, &TH);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].queue, None);
    assert_eq!(offers[0].wait_ms, secs(12));
    assert!(offers[0].answered_within);
    let rows = contributions(&call, &TH);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0.group, "support-group");
    assert_eq!(rows[0].0.queue, None);
    assert_eq!(rows[0].0.agent.as_deref(), Some("ann@acme.com"));
    assert_eq!(rows[0].0.hour, t(0));
}

#[test]
fn a_queue_first_named_by_the_answer_was_waited_in_from_the_call_start() {
    // Asterisk's tracker names the queue on the answer (AgentConnect).
    let call = Script::inbound()
        .ringing(0, None)
        .answered(secs(25), Some("support"))
        .ended(secs(90), EndReason::Completed, Some("support"))
        .call();
    let offers = offers(&call, &TH);
    assert_eq!(offers[0].queue, q("support"));
    assert_eq!(offers[0].offered_at, t(0));
    assert_eq!(offers[0].wait_ms, secs(25));
}

#[test]
fn a_queue_named_only_on_the_hang_up_is_the_queue_the_call_waited_in() {
    let call = Script::inbound()
        .ringing(0, None)
        .answered(secs(4), None)
        .ended(secs(90), EndReason::Completed, Some("support"))
        .call();
    assert_eq!(endings(&call, &TH), [(q("support"), Ending::Answered)]);
    assert_eq!(offers(&call, &TH)[0].wait_ms, secs(4));
}

#[test]
fn a_queue_named_after_the_answer_is_not_part_of_the_wait() {
    // The agent sent the answered caller to another queue.
    let call = Script::inbound()
        .ringing(0, Some("sales"))
        .answered(secs(5), Some("sales"))
        .ringing(secs(50), Some("billing"))
        .ended(secs(90), EndReason::Completed, Some("billing"))
        .call();
    assert_eq!(endings(&call, &TH), [(q("sales"), Ending::Answered)]);
}

#[test]
fn calls_nobody_took_are_missed_and_forwarded_calls_are_sent_on() {
    let ended = |reason| {
        Script::inbound()
            .ringing(0, Some("sales"))
            .ended(secs(30), reason, Some("sales"))
            .call()
    };
    for reason in [EndReason::NoAnswer, EndReason::Busy] {
        assert_eq!(
            endings(&ended(reason), &TH),
            [(q("sales"), Ending::Missed)],
            "{reason:?}"
        );
    }
    let voicemail = Script::inbound()
        .ringing(0, Some("sales"))
        .voicemail(secs(30), Some("sales"))
        .ended(secs(60), EndReason::Completed, None)
        .call();
    assert_eq!(endings(&voicemail, &TH), [(q("sales"), Ending::Missed)]);
    assert_eq!(
        endings(&ended(EndReason::Forwarded), &TH),
        [(q("sales"), Ending::Transferred)]
    );
    let missed = totals(&ended(EndReason::NoAnswer), &TH);
    assert_eq!((missed.offered, missed.missed), (1, 1));
    assert_eq!(missed.service_level(), Some(0.0));
    assert_eq!(missed.average_speed_of_answer_s(), None);
}

#[test]
fn outbound_failed_refused_and_unfinished_calls_are_not_offered() {
    let outbound = Script::outbound()
        .ringing(0, Some("sales"))
        .answered(secs(5), Some("sales"))
        .ended(secs(60), EndReason::Completed, None)
        .call();
    assert!(offers(&outbound, &TH).is_empty());
    for reason in [EndReason::Failed, EndReason::Rejected] {
        let call = Script::inbound()
            .ringing(0, Some("sales"))
            .ended(secs(1), reason, None)
            .call();
        assert!(offers(&call, &TH).is_empty(), "{reason:?}");
    }
    let waiting = Script::inbound().ringing(0, Some("sales")).call();
    assert!(contributions(&waiting, &TH).is_empty());
    let talking = Script::inbound()
        .ringing(0, Some("sales"))
        .answered(secs(3), None)
        .call();
    assert!(contributions(&talking, &TH).is_empty());
}

#[test]
fn the_queue_a_caller_waits_in_now() {
    let call = Script::inbound()
        .ringing(0, Some("a"))
        .ringing(secs(9), Some("b"))
        .call();
    let now = call.waiting_in().unwrap();
    assert_eq!(now.queue, q("b"));
    assert_eq!(now.entered_at, t(secs(9)));
    assert_eq!(now.left, None);
    // A caller still in the IVR waits in no queue yet; once in one, from
    // when they joined it.
    let ivr = Script::inbound().ringing(0, None);
    assert_eq!(ivr.call().waiting_in().unwrap().queue, None);
    let queued = ivr.ringing(secs(30), Some("a")).call();
    assert_eq!(queued.waiting_in().unwrap().entered_at, t(secs(30)));
    let answered = Script::inbound()
        .ringing(0, Some("a"))
        .answered(secs(3), None)
        .call();
    assert_eq!(answered.waiting_in(), None);
    assert_eq!(answered.queue_visits()[0].left, Some(QueueLeft::Answered));
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

#[test]
fn every_order_of_a_transferred_calls_events_gives_the_same_history() {
    let script = Script::inbound()
        .ringing(0, None)
        .ringing(secs(5), Some("a"))
        .ringing(secs(15), Some("b"))
        .answered(secs(25), Some("b"))
        .ended(secs(85), EndReason::Completed, Some("b"));
    let reference = script.call();
    for order in permutations(&script.events) {
        let call = play(&order);
        assert_eq!(call.queue_mentions, reference.queue_mentions);
        assert_eq!(call.queue_visits(), reference.queue_visits());
        assert_eq!(contributions(&call, &TH), contributions(&reference, &TH));
    }
}

#[test]
fn blank_queues_are_no_queue_and_a_call_keeps_its_earliest_mentions() {
    let call = Script::inbound().ringing(0, Some("  ")).call();
    assert!(call.queue_mentions.is_empty());
    let mut script = Script::inbound();
    for i in (0..100).rev() {
        script = script.ringing(secs(i), Some(&format!("q{}", i % 2)));
    }
    let call = script.call();
    assert_eq!(
        call.queue_mentions.len(),
        crate::interaction::MAX_QUEUE_MENTIONS
    );
    assert_eq!(call.queue_mentions[0].at, t(0));
    assert_eq!(call.queue_mentions.last().unwrap().at, t(secs(63)));
}

#[test]
fn a_call_stored_before_queue_history_still_reads_and_new_ones_round_trip() {
    let call = Script::inbound().ringing(0, None).call();
    let json = serde_json::to_value(&call).unwrap();
    assert!(json.get("queue_mentions").is_none(), "{json}");
    let old: Interaction = serde_json::from_value(json).unwrap();
    assert!(old.queue_mentions.is_empty());

    let call = answered_after(secs(3));
    let text = serde_json::to_string(&call).unwrap();
    let back: Interaction = serde_json::from_str(&text).unwrap();
    assert_eq!(back, call);
    assert_eq!(back.queue_mentions.len(), 3);
}

#[test]
fn a_call_reported_only_as_completed_was_answered_its_talk_time_before_the_end() {
    // A CDR: the start, the end and the talk time, no answer event.
    let call = Script::inbound()
        .ringing(0, Some("sales"))
        .add(EventKind::Ended, secs(70), None, |e| {
            e.reason = Some(EndReason::Completed);
            e.duration_s = Some(55);
        })
        .call();
    let offer = &offers(&call, &TH)[0];
    assert_eq!(offer.ending, Ending::Answered);
    assert_eq!(offer.wait_ms, secs(15));
    assert!(offer.answered_within);
    assert_eq!(offer.talk_ms, secs(55));
}
