use std::collections::BTreeSet;

use freshdesk_emulator::SeedContact;

use crate::common::{Harness, id};

/// Follows `Link` from the first page to the last, as NF's `pageIsLast` does.
#[tokio::test]
async fn link_headers_walk_every_page_and_the_last_has_none() {
    let harness = Harness::new().await;
    let seeded: BTreeSet<u64> = (0..75)
        .map(|n| {
            harness.emulator.seed_contact(SeedContact::with_phone(
                format!("Caller {n:02}"),
                "+15550100",
            ))
        })
        .collect();
    let mut url = harness.url("/api/v2/contacts?phone=%2B15550100&per_page=30");
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    loop {
        let answer = harness.get_url(&url).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        pages += 1;
        let rows = answer.json();
        let rows = rows.as_array().expect("array");
        assert!(rows.len() <= 30);
        seen.extend(rows.iter().map(id));
        let Some(link) = answer.header("link") else {
            assert_eq!(rows.len(), 15, "the last page is the short one");
            break;
        };
        let next = link
            .strip_prefix('<')
            .and_then(|rest| rest.split_once(">; rel=\"next\""))
            .map(|(next, _)| next.to_owned())
            .unwrap_or_else(|| panic!("bad Link {link}"));
        assert!(
            next.contains("phone=%2B15550100") && next.contains("per_page=30"),
            "{next}"
        );
        url = next;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, seeded);
}

#[tokio::test]
async fn per_page_is_at_most_100() {
    let harness = Harness::new().await;
    let answer = harness.get("/api/v2/contacts?per_page=101").await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json()["errors"][0]["message"],
        "It should be a Positive Integer less than or equal to 100"
    );
    assert_eq!(
        harness.get("/api/v2/contacts?per_page=100").await.status,
        200
    );
}
