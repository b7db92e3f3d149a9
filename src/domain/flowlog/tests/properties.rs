//! Domain layer (pure): tests for flow-log parsing properties.

use super::*;
use proptest::prelude::*;

fn record_line() -> impl Strategy<Value = String> {
    (
        any::<u32>(),
        any::<u32>(),
        0u16..4,
        prop::sample::select(vec![6u8, 17]),
        0u8..2,
    )
        .prop_map(|(s, d, iface, proto, act)| {
            let action = if act == 0 { "ACCEPT" } else { "REJECT" };
            format!(
                "2 1 eni-{iface} {} {} 1 {} {proto} 1 1 {T} {} {action} OK",
                Ipv4Addr::from(s),
                Ipv4Addr::from(d),
                s % 3,
                T + 60
            )
        })
}

proptest! {
    #[test]
    fn the_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut aggregator = Aggregator::new();
        let _ = parse_into(&mut Cursor::new(bytes.clone()), &everything(), &mut aggregator);
        let _ = decode(Cursor::new(bytes)).map(|mut r| parse_into(&mut r, &everything(), &mut aggregator));
    }

    #[test]
    fn aggregated_record_counts_sum_to_the_selected_records(
        lines in prop::collection::vec(prop_oneof![record_line(), Just("junk line".to_string())], 0..200),
        action in prop::sample::select(vec![ActionFilter::Accept, ActionFilter::Reject, ActionFilter::Any]),
    ) {
        let (aggregator, stats) = parse(&lines.join("\n"), Selection { action, window: None });
        prop_assert_eq!(aggregator.total_records(), stats.records - stats.filtered);
        prop_assert_eq!(stats.records + stats.malformed, lines.len() as u64);
        let flows = aggregator.into_flows();
        prop_assert!(flows.windows(2).all(|w| (w[0].source, w[0].destination) <= (w[1].source, w[1].destination)));
    }
}
