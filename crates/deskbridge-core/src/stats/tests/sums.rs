//! Totals that add up, hours into days, and the API's report.

use super::*;

fn key(hour: DateTime<Utc>, queue: &str) -> TotalsKey {
    TotalsKey {
        hour,
        group: "g".into(),
        queue: q(queue),
        agent: None,
    }
}

#[test]
fn totals_add_and_take_back() {
    let a = totals(&answered_after(secs(3)), &TH);
    let b = totals(&hung_up_after(secs(30)), &TH);
    let sum = a + b;
    assert_eq!((sum.offered, sum.answered, sum.abandoned), (2, 1, 1));
    assert_eq!(sum - b, a);
    assert_eq!([a, b].into_iter().sum::<Totals>(), sum);
    assert!((a - a).is_zero());

    let before = vec![(key(t(0), "a"), a)];
    let after = vec![(key(t(0), "a"), a), (key(t(0), "b"), b)];
    assert_eq!(revise(&before, &after), [(key(t(0), "b"), b)]);
    assert_eq!(revise(&after, &after), []);
    assert_eq!(revise(&[], &before), before);
    assert_eq!(revise(&before, &[]), [(key(t(0), "a"), -a)]);
}

#[test]
fn a_late_event_moves_a_counted_call_between_rows() {
    let script = Script::inbound()
        .ringing(0, None)
        .answered(secs(25), Some("b"))
        .ended(secs(85), EndReason::Completed, Some("b"));
    let counted = script.call();
    let first = contributions(&counted, &TH);
    let mut late = counted.clone();
    let mut e = CallEvent::new("late", "c1", EventKind::Ringing, t(secs(5)));
    e.queue = q("a");
    late.apply(&e);
    let change = revise(&first, &contributions(&late, &TH));
    let mut rows = first.clone();
    rows.extend(change);
    let sum: Totals = rows.into_iter().map(|(_, t)| t).sum();
    assert_eq!(sum, totals(&late, &TH));
    assert_eq!((sum.offered, sum.transferred), (2, 1));
}

#[test]
fn hours_sum_into_days_in_utc() {
    let day = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let hour = |h| day + Duration::hours(h);
    assert_eq!(
        Interval::Hour.start_of(hour(10) + Duration::minutes(59)),
        hour(10)
    );
    assert_eq!(
        Interval::Day.start_of(hour(23) + Duration::minutes(59)),
        day
    );

    let one = totals(&answered_after(secs(3)), &TH);
    let rows = vec![
        (hour(0), one),
        (hour(23), one),
        (hour(24), one),
        (hour(30), one),
    ];
    let days = Period::new(day, hour(48), Interval::Day)
        .unwrap()
        .roll_up(rows.clone());
    assert_eq!(days, [(day, one + one), (hour(24), one + one)]);

    let hours = Period::new(hour(23), hour(25), Interval::Hour)
        .unwrap()
        .roll_up(rows);
    assert_eq!(hours, [(hour(23), one), (hour(24), one)]);
}

#[test]
fn a_period_covers_whole_intervals_and_has_every_one() {
    let day = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let p = Period::new(
        day + Duration::minutes(630),
        day + Duration::minutes(675),
        Interval::Hour,
    )
    .unwrap();
    assert_eq!(
        (p.from(), p.to()),
        (day + Duration::hours(10), day + Duration::hours(12))
    );
    let empty = p.roll_up([]);
    assert_eq!(empty.len(), 2);
    assert!(empty.iter().all(|(_, t)| t.is_zero()));

    assert_eq!(
        Period::new(day, day, Interval::Hour),
        Err(StatsError::EmptyPeriod)
    );
    assert_eq!(
        Period::new(day, day + Duration::days(500), Interval::Hour),
        Err(StatsError::TooManyIntervals(12_000))
    );
    assert!(Period::new(day, day + Duration::days(500), Interval::Day).is_ok());
    assert_eq!("day".parse::<Interval>(), Ok(Interval::Day));
    assert_eq!(
        "week".parse::<Interval>(),
        Err(StatsError::UnknownInterval("week".into()))
    );
}

#[test]
fn the_report_has_the_apis_fields_and_the_csv_the_same_columns() {
    let mut sum = totals(&answered_after(secs(10)), &TH);
    sum += totals(&answered_after(secs(40)), &TH);
    sum += totals(&hung_up_after(secs(1)), &TH);
    let report = StatsReport::new(&[(t(0), sum), (t(secs(3600)), Totals::default())]);
    let json = serde_json::to_value(&report).unwrap();
    let first = &json["intervals"][0];
    assert_eq!(first["start"], "2026-11-22T10:00:00Z");
    assert_eq!(first["offered"], 3);
    assert_eq!(first["answered"], 2);
    assert_eq!(first["missed"], 0);
    assert_eq!(first["abandoned"], 0);
    assert_eq!(first["short_abandoned"], 1);
    assert_eq!(first["answered_within"], 1);
    assert_eq!(first["service_level"], 0.5);
    assert_eq!(first["average_speed_of_answer_s"], 25.0);
    assert_eq!(first["average_talk_s"], 60.0);
    assert_eq!(
        json["intervals"][1]["service_level"],
        serde_json::Value::Null
    );

    let csv = report.to_csv();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    // The header names every field of the JSON, in the order it writes them.
    let text = serde_json::to_string(&report.intervals[0]).unwrap();
    let places: Vec<usize> = header
        .iter()
        .map(|name| text.find(&format!("\"{name}\":")).unwrap())
        .collect();
    assert!(places.is_sorted(), "{text}");
    assert_eq!(header.len(), first.as_object().unwrap().len());
    assert_eq!(lines[1], "2026-11-22T10:00:00Z,3,2,0,0,1,0.5,25,60,1,0");
    assert_eq!(lines[2], "2026-11-22T11:00:00Z,0,0,0,0,0,,,,0,0");
    assert_eq!(lines[3], "");
}

#[test]
fn figures_are_rounded_alike_in_json_and_csv() {
    let mut sum = Totals::default();
    for wait in [1, 2, 30] {
        sum += totals(&answered_after(secs(wait) + 1), &TH);
    }
    let f = IntervalFigures::new(t(0), &sum);
    assert_eq!(f.service_level, Some(0.6667));
    assert_eq!(f.average_speed_of_answer_s, Some(11.0));
}
