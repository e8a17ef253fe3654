//! The landing page's table "Renewals in the next 14 days with unused licenses", so that a person
//! without Grafana sees which renewals lock in seats nobody uses, and what they cost.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::html::html_escape;
use crate::derived::{RENEWAL_TABLE_DAYS, RenewalTable};

/// Rows shown at most; the rest are counted.
const MAX_ROWS: usize = 100;

/// Whole numbers without a fraction, others with two decimals.
fn number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
}

/// The section's HTML: heading, explanation and the table (or why there is none).
pub(super) fn section(table: Option<&RenewalTable>, now: DateTime<Utc>) -> String {
    let mut out = format!("<h2>Renewals in the next {RENEWAL_TABLE_DAYS} days with unused licenses</h2>\n");
    let Some(table) = table else {
        out.push_str("<p class=\"pending\">No subscription and license-count data yet (the subscriptions and subscribed-skus collectors have not succeeded).</p>\n");
        return out;
    };
    out.push_str("<p>Subscriptions that renew automatically with paid licenses nobody in the customer's tenant is assigned. After the renewal the seats can be reduced only within the refund window, so reduce them for the next term now (or turn auto-renew off).</p>\n");
    if table.rows.is_empty() {
        out.push_str("<p class=\"ok\">None.</p>\n");
    } else {
        out.push_str("<table><tr><th>customer</th><th>subscription</th><th>renews</th><th>licenses</th><th>unused</th><th>scheduled next term</th><th>locked in by the renewal</th></tr>\n");
        for r in table.rows.iter().take(MAX_ROWS) {
            let days = (r.term_end - now).num_hours() as f64 / 24.0;
            let name = if r.friendly_name.is_empty() || r.friendly_name == r.offer_name {
                html_escape(&r.offer_name)
            } else {
                format!(
                    "{} ({})",
                    html_escape(&r.friendly_name),
                    html_escape(&r.offer_name)
                )
            };
            let customer = if r.customer_name.is_empty() {
                &r.customer_tenant_id
            } else {
                &r.customer_name
            };
            let scheduled = r
                .scheduled
                .map_or_else(|| "none".to_owned(), |q| format!("{} licenses", number(q)));
            let money = match &r.locked_in {
                Some((amount, currency)) => format!("{amount:.2} {}", html_escape(currency)),
                None => "no price".to_owned(),
            };
            let _ = writeln!(
                out,
                "<tr><td title=\"{tenant}\">{customer}</td><td title=\"{id}\">{name}</td><td>{date} (in {days:.1} d)</td><td>{quantity}</td><td class=\"failing\">{unused}</td><td>{scheduled}</td><td>{money}</td></tr>",
                tenant = html_escape(&r.customer_tenant_id),
                customer = html_escape(customer),
                id = html_escape(&r.subscription_id),
                date = r.term_end.format("%Y-%m-%d"),
                quantity = number(r.quantity),
                unused = number(r.unused),
            );
        }
        out.push_str("</table>\n");
        if table.rows.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "<p>… and {} more (see the Renewals dashboard).</p>",
                table.rows.len() - MAX_ROWS
            );
        }
    }
    if !table.priced {
        out.push_str("<p class=\"pending\">No prices loaded: start the exporter with --pricing.file to see what the renewals cost.</p>\n");
    }
    if table.without_access > 0 {
        let _ = writeln!(
            out,
            "<p class=\"pending\">{} customers refused their license counts (the exporter's user has no GDAP role such as Directory Readers there): their renewals cannot be judged and are not listed.</p>",
            table.without_access
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::derived::Renewal;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    fn renewal(name: &str, days: i64, money: Option<(f64, &str)>) -> Renewal {
        Renewal {
            customer_tenant_id: "c1".into(),
            customer_name: name.into(),
            subscription_id: "s1".into(),
            offer_name: "Office 365 E3".into(),
            friendly_name: "E3 <main>".into(),
            term_end: now() + Duration::days(days),
            quantity: 20.0,
            unused: 5.0,
            scheduled: None,
            unused_at_renewal: 5.0,
            locked_in: money.map(|(a, c)| (a, c.to_owned())),
        }
    }

    #[test]
    fn rows_are_escaped_and_show_the_money() {
        let table = RenewalTable {
            rows: vec![renewal("O'Brien & <Sons>", 10, Some((1380.0, "USD")))],
            days: 14,
            without_access: 2,
            priced: true,
        };
        let html = section(Some(&table), now());
        assert!(html.contains("O&#39;Brien &amp; &lt;Sons&gt;"), "{html}");
        assert!(html.contains("E3 &lt;main&gt; (Office 365 E3)"), "{html}");
        assert!(html.contains("2026-12-11 (in 10.0 d)"), "{html}");
        assert!(html.contains("1380.00 USD"), "{html}");
        assert!(html.contains("2 customers refused"), "{html}");
        assert!(!html.contains("No prices loaded"), "{html}");
    }

    #[test]
    fn the_empty_states_say_why() {
        assert!(section(None, now()).contains("No subscription and license-count data yet"));
        let empty = RenewalTable {
            days: 14,
            ..RenewalTable::default()
        };
        let html = section(Some(&empty), now());
        assert!(html.contains("None."), "{html}");
        assert!(html.contains("No prices loaded"), "{html}");
    }

    #[test]
    fn long_tables_are_cut_and_the_rest_counted() {
        let table = RenewalTable {
            rows: (0..105).map(|_| renewal("C", 3, None)).collect(),
            days: 14,
            without_access: 0,
            priced: false,
        };
        let html = section(Some(&table), now());
        assert_eq!(html.matches("<tr><td").count(), MAX_ROWS);
        assert!(html.contains("… and 5 more"), "{html}");
        assert!(html.contains("no price"), "{html}");
    }
}
