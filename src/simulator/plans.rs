//! How each customer of the synthetic partner bought what it uses: its subscriptions (new
//! commerce or legacy, term, billing, renewal date, auto-renew, a scheduled next term), the odd
//! ones (trials, suspended, expired, an undocumented status), seats bought through another
//! channel, and whether the exporter's user has a GDAP role there.
//!
//! Drawn from a stream of their own (`SALT_PLAN`), so the customers' names, profiles and licence
//! figures are what they were before subscriptions existed. The seats of a product's main (and
//! flex) subscriptions always add up to the product's sold licences of the moment, so what is
//! paid for is never less than what is assigned, and the under-used customers are the over-bought
//! ones (see `licences`).
//!
//! Dates are days from the *anchor*, the UTC day the data was created, and keep away from the
//! alerts' boundaries: a term never ends 11–15 days out (annual and longer) or 0 or 2–4 days
//! out (monthly), and a refund window never closes 0, 2 or 3 days out, so a check started at any
//! time of day agrees with Prometheus across midnight.

use super::catalog::{Kind, Product};
use super::offers;
use super::rng::Rng;

const SALT_PLAN: u64 = 4;

/// A subscription's term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    P1M,
    P1Y,
    P3Y,
}

impl Term {
    pub fn months(self) -> u32 {
        match self {
            Term::P1M => 1,
            Term::P1Y => 12,
            Term::P3Y => 36,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Term::P1M => "P1M",
            Term::P1Y => "P1Y",
            Term::P3Y => "P3Y",
        }
    }

    /// Days from the anchor a term end may be drawn at (see the module docs).
    fn allowed_end(self, day: i64) -> bool {
        match self {
            Term::P1M => day == 1 || (5..=27).contains(&day),
            Term::P1Y => (1..=10).contains(&day) || (16..=364).contains(&day),
            Term::P3Y => (1..=10).contains(&day) || (16..=1094).contains(&day),
        }
    }
}

/// What a planned subscription is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the product's sold seats (less a flex top-up's).
    Main,
    /// A monthly top-up of the same product, holding a share of its sold seats.
    Flex,
    /// A 25-seat new-commerce trial: in the tenant's counts, not billed.
    Trial,
    /// Billed, but nobody can use it.
    SuspendedNce,
    /// Its term ended without renewal; the seats stay in the tenant for 30 days (warning units).
    ExpiredNce,
    /// Not billed under the legacy programme.
    SuspendedLegacy,
    /// A status Partner Center has not documented (`transferring`).
    UnknownStatus,
}

impl Role {
    /// Whether the role's seats come out of the product's sold licences.
    pub fn holds_sold_seats(self) -> bool {
        matches!(self, Role::Main | Role::Flex)
    }
}

/// A booked change for the next term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    None,
    /// Fewer seats next term.
    Reduce,
    /// The same seats, on an annual term.
    Same,
    /// A trial converting to 25 paid seats on an annual term.
    Convert,
}

/// One subscription of a customer, relative to the anchor day.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSub {
    /// Index into the customer's products (`Customer::subscriptions`).
    pub product: usize,
    pub role: Role,
    pub legacy: bool,
    pub term: Term,
    /// `billingCycle` as sent: `annual`, `monthly`, `triennial`, `unknown`, `none`.
    pub billing: &'static str,
    /// Days from the anchor to the last day of the term.
    pub days_to_end: i64,
    /// When set, the term starts this many days from the anchor instead (a fresh purchase).
    pub start_offset: Option<i64>,
    pub auto_renew: bool,
    pub schedule: Schedule,
    /// Flex: share of the product's sold seats.
    pub share: f64,
    /// The odd roles: fixed seats.
    pub quantity: u64,
    /// Legacy: dates without an offset and no `commitmentEndDateTime` (as in a real capture).
    pub naive_dates: bool,
}

/// Seats of a product bought through another channel (another partner, direct, EA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherSeats {
    pub product: usize,
    pub seats: u64,
    /// Of those, assigned to nobody.
    pub unassigned: u64,
}

/// Everything commercial about one customer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerPlan {
    /// Whether the exporter's user has a GDAP role in the customer (else 403 on its licence counts).
    pub gdap: bool,
    pub subs: Vec<PlannedSub>,
    pub other: Vec<OtherSeats>,
    /// Consumed units of the free SKU, if the tenant has it.
    pub free_sku: Option<u64>,
}

fn main_sub(product: usize, term: Term, billing: &'static str, days_to_end: i64) -> PlannedSub {
    PlannedSub {
        product,
        role: Role::Main,
        legacy: false,
        term,
        billing,
        days_to_end,
        start_offset: None,
        auto_renew: true,
        schedule: Schedule::None,
        share: 0.0,
        quantity: 0,
        naive_dates: false,
    }
}

/// A term end in the allowed days for `term`.
fn draw_end(rng: &mut Rng, term: Term) -> i64 {
    let max = match term {
        Term::P1M => 27,
        Term::P1Y => 364,
        Term::P3Y => 1094,
    };
    loop {
        let day = i64::from(rng.range_u32(1, max));
        if term.allowed_end(day) {
            return day;
        }
    }
}

/// A product a customer bought, with its base figures.
#[derive(Debug, Clone, Copy)]
pub struct Bought {
    pub product: &'static Product,
    pub sold: u64,
    pub deployed: u64,
}

/// The plan of the customer with this ordinal and these products, from its own stream.
pub fn plan(seed: u64, ordinal: u64, products: &[Bought]) -> CustomerPlan {
    let mut rng = Rng::new(seed, &[SALT_PLAN, ordinal]);
    let gdap = !matches!(ordinal, 4 | 13) && (ordinal < 16 || rng.chance(0.92));
    let mut subs = Vec::new();
    for (index, bought) in products.iter().enumerate() {
        let offer = offers::of(bought.product);
        let dynamics = bought.product.kind == Kind::Dynamics;
        let legacy = offer.legacy_offer.is_some() && rng.chance(0.15);
        let term = if legacy {
            Term::P1Y
        } else {
            match rng.unit() {
                u if u < 0.20 && offer.monthly_term => Term::P1M,
                u if u > 0.95 && dynamics && offer.triennial => Term::P3Y,
                _ => Term::P1Y,
            }
        };
        let billing = match (legacy, term) {
            (true, _) => *rng.pick(&["monthly", "unknown"]),
            (false, Term::P1M) => "monthly",
            (false, Term::P1Y) => *rng.pick(&["annual", "annual", "monthly", "monthly", "monthly"]),
            (false, Term::P3Y) => *rng.pick(&["annual", "triennial"]),
        };
        let mut main = main_sub(index, term, billing, draw_end(&mut rng, term));
        main.legacy = legacy;
        main.naive_dates = legacy && rng.chance(0.5);
        main.auto_renew = rng.chance(0.85);
        let unused = bought.sold.saturating_sub(bought.deployed);
        if !legacy && main.auto_renew && unused >= 1 {
            main.schedule = match rng.unit() {
                u if u < 0.20 => Schedule::Reduce,
                u if u < 0.25 => Schedule::Same,
                _ => Schedule::None,
            };
        }
        let flex =
            bought.product.kind == Kind::Suite && offer.monthly_term && bought.sold >= 4 && rng.chance(0.15);
        subs.push(main);
        if flex {
            let mut f = main_sub(index, Term::P1M, "monthly", draw_end(&mut rng, Term::P1M));
            f.role = Role::Flex;
            f.share = rng.range_f64(0.1, 0.3);
            f.auto_renew = rng.chance(0.85);
            subs.push(f);
        }
    }
    let odd = |role: Role, product: usize, quantity: u64, days_to_end: i64| PlannedSub {
        role,
        quantity,
        auto_renew: matches!(role, Role::Trial),
        ..main_sub(
            product,
            if role == Role::Trial { Term::P1M } else { Term::P1Y },
            "monthly",
            days_to_end,
        )
    };
    let count = products.len();
    if ordinal == 8 || rng.chance(0.04) {
        let mut trial = odd(Role::Trial, 0, 25, draw_end(&mut rng, Term::P1M));
        trial.billing = "none";
        trial.schedule = Schedule::Convert;
        subs.push(trial);
    }
    if ordinal == 9 || rng.chance(0.02) {
        let qty = u64::from(rng.range_u32(1, 10));
        subs.push(odd(
            Role::SuspendedNce,
            rng.range_u32(0, count as u32 - 1) as usize,
            qty,
            draw_end(&mut rng, Term::P1Y),
        ));
    }
    if ordinal == 10 || rng.chance(0.03) {
        let qty = u64::from(rng.range_u32(1, 10));
        let ago = -i64::from(rng.range_u32(1, 25));
        subs.push(odd(
            Role::ExpiredNce,
            rng.range_u32(0, count as u32 - 1) as usize,
            qty,
            ago,
        ));
    }
    if ordinal == 11 || rng.chance(0.01) {
        let product = (0..count).find(|&i| offers::of(products[i].product).legacy_offer.is_some());
        if let Some(product) = product {
            let mut s = odd(
                Role::SuspendedLegacy,
                product,
                u64::from(rng.range_u32(1, 5)),
                draw_end(&mut rng, Term::P1Y),
            );
            s.legacy = true;
            subs.push(s);
        }
    }
    if ordinal == 6 {
        subs.push(odd(Role::UnknownStatus, 0, 2, draw_end(&mut rng, Term::P1Y)));
    }
    let mut other = Vec::new();
    for (index, bought) in products.iter().enumerate() {
        if ordinal == 7 && index == 0 {
            other.push(OtherSeats {
                product: 0,
                seats: 10,
                unassigned: 4,
            });
        } else if rng.chance(0.08) {
            let seats = u64::from(rng.range_u32(2, (bought.sold / 3).max(2) as u32));
            other.push(OtherSeats {
                product: index,
                seats,
                unassigned: 0,
            });
        }
    }
    let free_sku = rng.chance(0.2).then(|| u64::from(rng.range_u32(1, 20)));
    CustomerPlan {
        gdap,
        subs,
        other,
        free_sku,
    }
}

/// Seats of `sub` now, from its product's sold licences of the moment.
pub fn quantity(plan: &CustomerPlan, index: usize, sold: u64) -> u64 {
    let sub = &plan.subs[index];
    let flex = plan
        .subs
        .iter()
        .find(|s| s.role == Role::Flex && s.product == sub.product)
        .map(|f| ((sold as f64 * f.share).round() as u64).clamp(1, sold.saturating_sub(1).max(1)));
    match sub.role {
        Role::Main => sold - flex.filter(|f| *f < sold).unwrap_or(0),
        Role::Flex => flex.filter(|f| *f < sold).unwrap_or(0),
        _ => sub.quantity,
    }
}

/// A forced placement: the unassigned seats a product needs at its base figures, whether it
/// must offer a monthly term, and how its main subscription is replaced.
pub struct Placement {
    pub min_unassigned: u64,
    pub monthly: bool,
    pub place: fn(&mut PlannedSub),
}

/// Overrides that make sure a small partner (the demo's 25 customers) shows every case of the
/// renewal and refund-window alerts, whatever the seed; each goes to the first customer (by
/// ordinal) with a GDAP role and a product with enough unassigned seats at its base figures.
pub const PLACEMENTS: [Placement; 6] = [
    // F1: renews in 6 days, annual, auto-renew on, nothing scheduled: RenewingSoon.
    Placement {
        min_unassigned: 3,
        monthly: false,
        place: |s| *s = main_sub(s.product, Term::P1Y, "annual", 6),
    },
    // F2: a monthly term renewing tomorrow: RenewingSoon (3-day lead time).
    Placement {
        min_unassigned: 3,
        monthly: true,
        place: |s| *s = main_sub(s.product, Term::P1M, "monthly", 1),
    },
    // F3: bought 6 days ago, so the refund window closes tomorrow night: WindowClosing.
    Placement {
        min_unassigned: 2,
        monthly: false,
        place: |s| {
            *s = main_sub(s.product, Term::P1Y, "monthly", 0);
            s.start_offset = Some(-6);
        },
    },
    // F4: renews in 5 days with auto-renew off: no alert.
    Placement {
        min_unassigned: 3,
        monthly: false,
        place: |s| {
            *s = main_sub(s.product, Term::P1Y, "annual", 5);
            s.auto_renew = false;
        },
    },
    // F5: renews in 5 days with a reduction scheduled: no alert.
    Placement {
        min_unassigned: 3,
        monthly: false,
        place: |s| {
            *s = main_sub(s.product, Term::P1Y, "annual", 5);
            s.schedule = Schedule::Reduce;
        },
    },
    // F6: bought 3 days ago, the window closes in 4 days: no alert yet.
    Placement {
        min_unassigned: 2,
        monthly: false,
        place: |s| {
            *s = main_sub(s.product, Term::P1Y, "annual", 0);
            s.start_offset = Some(-3);
        },
    },
];

/// F7: the customer without GDAP renews in 6 days, and nothing can be said about its seats.
pub fn place_without_gdap(plan: &mut CustomerPlan) {
    if let Some(sub) = plan.subs.iter_mut().find(|s| s.role == Role::Main) {
        *sub = main_sub(sub.product, Term::P1Y, "annual", 6);
    }
}
