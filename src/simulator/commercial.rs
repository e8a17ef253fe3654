//! The commercial license endpoints (usage: customer × product × workload; deployment:
//! customer × product) with `top`/`skip`/`@nextLink` paging, `filter`, `groupby` and
//! `processedDateTime`, in the envelope `{"Value":[…],"@nextLink":…,"TotalCount":n}`.
//!
//! Where the documentation is silent the simulator decides, and says so:
//! - `top` above 10000 is lowered to 10000 (documented maximum; whether the real service lowers
//!   or refuses is UNCONFIRMED); `top` ≤ 0 or non-numeric is a 400. `--page-size-cap` lowers it
//!   further so tests see many pages.
//! - A non-null `@nextLink` is UNCONFIRMED: by default it is a reference relative to the request
//!   URL in the shape of the sister Store analytics API (`license?top=…&skip=…&filter=…`), carrying
//!   every parameter of the request; `--next-link absolute` gives an absolute URL instead.
//! - `TotalCount` is the number of rows (or groups) matching the whole query, not of the page.
//! - `processedDateTime` later than the latest processed date gives no rows; an earlier one gives
//!   the current figures stamped with that date (the simulator keeps no history).

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use chrono::NaiveDate;

use super::data::View;
use super::filter::{self, Expr, Field};
use super::json::{Obj, Rendered};
use super::records::{CHANNEL, DeploymentRec, UsageRec};
use super::render;
use super::reply::{ApiError, ok_json, query_params, require_user};
use super::state::{NextLinkStyle, Sim};
use super::tokens::Principal;

/// Documented maximum (and default) of `top`.
pub const MAX_TOP: usize = 10_000;

/// `GET …/analytics/commercial/usage/license`.
pub async fn usage(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    list::<Usage>(&sim, &p, &uri, &headers)
}

/// `GET …/analytics/commercial/deployment/license`.
pub async fn deployment(
    State(sim): State<Arc<Sim>>,
    Extension(p): Extension<Principal>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    list::<Deployment>(&sim, &p, &uri, &headers)
}

/// What differs between the two endpoints.
trait Listing {
    type Rec;
    const FIELDS: &'static [Field];
    fn rows(view: &View) -> &[Self::Rec];
    fn field<'a>(view: &'a View, r: &Self::Rec, f: Field) -> &'a str;
    fn counts(r: &Self::Rec) -> (u64, u64);
    fn count_names(view: &View) -> (&'static str, &'static str);
    fn rendered(view: &View) -> &Rendered;
    fn render(buf: &mut Vec<u8>, view: &View, r: &Self::Rec, date: &str);
}

struct Usage;
struct Deployment;

impl Listing for Usage {
    type Rec = UsageRec;
    const FIELDS: &'static [Field] = Field::USAGE;
    fn rows(view: &View) -> &[UsageRec] {
        &view.usage
    }
    fn field<'a>(view: &'a View, r: &UsageRec, f: Field) -> &'a str {
        usage_field(view, r, f)
    }
    fn counts(r: &UsageRec) -> (u64, u64) {
        (r.active, r.qualified)
    }
    fn count_names(view: &View) -> (&'static str, &'static str) {
        (view.style.spelling.key(), "licensesQualified")
    }
    fn rendered(view: &View) -> &Rendered {
        view.usage_json()
    }
    fn render(buf: &mut Vec<u8>, view: &View, r: &UsageRec, date: &str) {
        render::usage_row(buf, &view.set, view.style, r, date);
    }
}

impl Listing for Deployment {
    type Rec = DeploymentRec;
    const FIELDS: &'static [Field] = Field::DEPLOYMENT;
    fn rows(view: &View) -> &[DeploymentRec] {
        &view.deployment
    }
    fn field<'a>(view: &'a View, r: &DeploymentRec, f: Field) -> &'a str {
        deployment_field(view, r, f)
    }
    fn counts(r: &DeploymentRec) -> (u64, u64) {
        (r.deployed, r.sold)
    }
    fn count_names(_: &View) -> (&'static str, &'static str) {
        ("licensesDeployed", "licensesSold")
    }
    fn rendered(view: &View) -> &Rendered {
        view.deployment_json()
    }
    fn render(buf: &mut Vec<u8>, view: &View, r: &DeploymentRec, date: &str) {
        render::deployment_row(buf, &view.set, r, date);
    }
}

/// A field of a usage row, as the commercial endpoint shows it.
fn usage_field<'a>(view: &'a View, r: &UsageRec, field: Field) -> &'a str {
    match field {
        Field::WorkloadCode => view.workload(r).code,
        Field::WorkloadName => view.workload(r).name,
        _ => common_field(view, r.customer, r.sub, field),
    }
}

/// A field of a deployment row, as the commercial endpoint shows it.
fn deployment_field<'a>(view: &'a View, r: &DeploymentRec, field: Field) -> &'a str {
    common_field(view, r.customer, r.sub, field)
}

fn common_field(view: &View, customer: u32, sub: u16, field: Field) -> &str {
    let c = view.customer(customer);
    let p = view.sub(customer, sub).product;
    match field {
        Field::ServiceCode => p.service.code(),
        Field::ServiceName => p.service.name(),
        Field::Channel => CHANNEL,
        Field::CustomerTenantId => &c.id_upper,
        Field::CustomerName => &c.name,
        Field::ProductId => p.id,
        Field::ProductName => p.name,
        // Deployment rows have no workload; the filter parser rejects these fields for them.
        Field::WorkloadCode | Field::WorkloadName => "",
    }
}

/// The validated query; raw strings are kept to be repeated in `@nextLink`.
struct Params {
    top: usize,
    skip: usize,
    filter: Option<(String, Expr)>,
    groupby: Option<(String, Vec<Field>)>,
    processed: Option<(String, NaiveDate)>,
}

fn params(uri: &Uri, fields: &[Field], cap: usize) -> Result<Params, ApiError> {
    let q = query_params(uri.query());
    let top = match q.get("top").map(|s| s.trim().parse::<i64>()) {
        None => MAX_TOP,
        Some(Ok(n)) if n > 0 => usize::try_from(n).unwrap_or(MAX_TOP).min(MAX_TOP),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "top must be an integer from 1 to {MAX_TOP}"
            )));
        }
    };
    let skip = match q.get("skip").map(|s| s.trim().parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(ApiError::bad_request("skip must be a non-negative integer")),
    };
    let filter = match q.get("filter").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(raw) => Some((
            raw.clone(),
            filter::parse(raw, fields).map_err(|e| ApiError::bad_request(format!("filter: {e}")))?,
        )),
    };
    let groupby = match q.get("groupby").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(raw) => Some((
            raw.clone(),
            filter::parse_groupby(raw, fields).map_err(|e| ApiError::bad_request(format!("groupby: {e}")))?,
        )),
    };
    let processed = match q.get("processeddatetime").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(raw) => Some((raw.clone(), parse_processed(raw)?)),
    };
    Ok(Params {
        top: top.min(cap.max(1)),
        skip,
        filter,
        groupby,
        processed,
    })
}

/// Parse a `processedDateTime` value: a date, or a date-time with or without an offset (the
/// expected format is UNCONFIRMED; the responses' own format is accepted).
fn parse_processed(s: &str) -> Result<NaiveDate, ApiError> {
    let s = s.trim();
    let bad = || {
        ApiError::bad_request(format!(
            "processedDateTime '{s}' is not a date like 2026-11-21 or 2026-11-21T00:00:00"
        ))
    };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(dt.naive_utc().date());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|dt| dt.date())
        .map_err(|_| bad())
}

fn list<L: Listing>(sim: &Sim, p: &Principal, uri: &Uri, headers: &HeaderMap) -> Result<Response, ApiError> {
    require_user(p)?;
    let params = params(uri, L::FIELDS, sim.config.page_size_cap)?;
    let view = sim.data.view(sim.clock.now());
    let latest = view.key.processed;
    let date = params.processed.as_ref().map_or(latest, |(_, d)| *d);
    if date > latest {
        return Ok(ok_json(render::commercial_page(b"", None, 0)));
    }
    let rows = L::rows(&view);
    let matches = |r: &L::Rec| {
        params
            .filter
            .as_ref()
            .is_none_or(|(_, e)| e.matches(&|f| L::field(&view, r, f)))
    };
    let page = |total: usize| params.skip.min(total)..params.skip.saturating_add(params.top).min(total);
    let (body, end, total) = if let Some((_, fields)) = &params.groupby {
        let groups = filter::group(
            rows.iter().filter(|r| matches(r)),
            fields,
            |r, f| L::field(&view, r, f),
            |r| L::counts(r),
        );
        let range = page(groups.len());
        let (a, b) = L::count_names(&view);
        let rendered = Rendered::build(groups[range.clone()].iter(), |buf, (key, x, y)| {
            let mut obj = Obj::new(buf);
            for (f, v) in fields.iter().zip(key) {
                obj.str(f.name(), v);
            }
            obj.int(a, *x).int(b, *y).end();
        });
        (Cow::Owned(rendered.into_joined()), range.end, groups.len())
    } else if params.filter.is_none() && date == latest {
        // The common case, a plain page: a slice of the rows rendered once per view.
        let range = page(rows.len());
        (
            Cow::Borrowed(L::rendered(&view).rows(range.clone())),
            range.end,
            rows.len(),
        )
    } else {
        let selected: Vec<usize> = (0..rows.len()).filter(|&i| matches(&rows[i])).collect();
        let range = page(selected.len());
        let picked = &selected[range.clone()];
        let rendered = if date == latest {
            let cached = L::rendered(&view);
            Rendered::build(picked.iter(), |buf, &i| buf.extend_from_slice(cached.row(i)))
        } else {
            let stamp = render::commercial_date(date);
            Rendered::build(picked.iter(), |buf, &i| L::render(buf, &view, &rows[i], &stamp))
        };
        (Cow::Owned(rendered.into_joined()), range.end, selected.len())
    };
    let next = (end < total).then(|| next_link(sim.config.next_link, uri, headers, &params, end));
    Ok(ok_json(render::commercial_page(&body, next.as_deref(), total)))
}

/// Percent-encode a query value, spaces as `%20` (as the documented request examples do).
fn encode(value: &str) -> String {
    // byte_serialize writes a literal '+' as %2B, so every '+' left stands for a space.
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn next_link(style: NextLinkStyle, uri: &Uri, headers: &HeaderMap, p: &Params, skip: usize) -> String {
    let mut query = format!("top={}&skip={skip}", p.top);
    let extra = [
        ("filter", p.filter.as_ref().map(|(raw, _)| raw)),
        ("groupby", p.groupby.as_ref().map(|(raw, _)| raw)),
        ("processedDateTime", p.processed.as_ref().map(|(raw, _)| raw)),
    ];
    for (name, raw) in extra {
        if let Some(raw) = raw {
            query.push_str(&format!("&{name}={}", encode(raw)));
        }
    }
    let path = uri.path();
    match style {
        NextLinkStyle::Relative if path.ends_with('/') => format!("?{query}"),
        NextLinkStyle::Relative => format!("{}?{query}", path.rsplit('/').next().unwrap_or_default()),
        NextLinkStyle::Absolute => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path}?{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(query: &str) -> Result<Params, ApiError> {
        params(&format!("/x?{query}").parse().unwrap(), Field::USAGE, MAX_TOP)
    }

    #[test]
    fn top_defaults_to_and_is_capped_at_ten_thousand() {
        assert_eq!(p("").unwrap().top, MAX_TOP);
        assert_eq!(p("top=50000").unwrap().top, MAX_TOP);
        assert_eq!(p("top=7").unwrap().top, 7);
        for bad in [
            "top=0",
            "top=-1",
            "top=x",
            "skip=-3",
            "filter=nonsense",
            "groupby=colour",
        ] {
            assert_eq!(p(bad).err().map(|e| e.status.as_u16()), Some(400), "{bad}");
        }
    }

    #[test]
    fn next_links_repeat_the_query_relative_to_the_request() {
        let params = p("top=2&filter=workloadCode%20eq%20%27EXO%27&groupby=serviceCode").unwrap();
        let uri: Uri = "/partner/v1/analytics/commercial/usage/license?top=2"
            .parse()
            .unwrap();
        let link = next_link(NextLinkStyle::Relative, &uri, &HeaderMap::new(), &params, 4);
        assert_eq!(
            link,
            "license?top=2&skip=4&filter=workloadCode%20eq%20%27EXO%27&groupby=serviceCode"
        );
        let slash: Uri = "/v1/analytics/commercial/usage/license/".parse().unwrap();
        let link = next_link(NextLinkStyle::Relative, &slash, &HeaderMap::new(), &params, 4);
        assert!(link.starts_with("?top=2&skip=4"), "{link}");
        let base = url::Url::parse("http://h/v1/analytics/commercial/usage/license/").unwrap();
        assert_eq!(
            base.join(&link).unwrap().path(),
            "/v1/analytics/commercial/usage/license/"
        );
    }
}
