//! The fixed catalogue the synthetic partner sells from: Microsoft 365 and Dynamics 365 products
//! with their workloads, and the word lists company names are made of.
//!
//! Product ids are Microsoft's SKU ids (the documentation's own examples use them: Office 365
//! Enterprise E3 is `6FD2C87F-…`, the calling plan `D3B4FE1F-…`); the simulator only relies on them
//! being stable and distinct. Product names are upper-case, as in every documented response.

/// A Partner Center service: `serviceCode`/`serviceName` of the commercial endpoints; the legacy
/// endpoints put the code in `serviceName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Office,
    Dynamics,
}

impl Service {
    /// `serviceCode` (and the legacy `serviceName`), as the documented examples spell it.
    pub fn code(self) -> &'static str {
        match self {
            Service::Office => "o365",
            Service::Dynamics => "crm",
        }
    }
    /// `serviceName` of the commercial endpoints.
    pub fn name(self) -> &'static str {
        match self {
            Service::Office => "Microsoft Office 365",
            Service::Dynamics => "Microsoft Dynamics",
        }
    }
}

/// A workload licenses are used in.
#[derive(Debug, PartialEq)]
pub struct Workload {
    pub code: &'static str,
    pub name: &'static str,
    /// Share of qualified licenses a healthy customer actively uses.
    pub typical_use: f64,
}

pub const EXO: Workload = Workload {
    code: "EXO",
    name: "Exchange",
    typical_use: 0.92,
};
pub const SPO: Workload = Workload {
    code: "SPO",
    name: "SharePoint",
    typical_use: 0.70,
};
pub const OD4B: Workload = Workload {
    code: "OD4B",
    name: "OneDrive",
    typical_use: 0.66,
};
pub const TEAMS: Workload = Workload {
    code: "TEAMS",
    name: "Teams",
    typical_use: 0.86,
};
/// Spelled as in the legacy partner usage example.
pub const SFB: Workload = Workload {
    code: "SFB",
    name: "Skype For Business",
    typical_use: 0.22,
};
pub const YAM: Workload = Workload {
    code: "YAM",
    name: "Yammer",
    typical_use: 0.32,
};
/// Named as in the legacy partner usage example.
pub const CRM: Workload = Workload {
    code: "CRM",
    name: "Microsoft Dynamics CRM",
    typical_use: 0.80,
};

/// What role a product plays when a customer's portfolio is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One per customer: the productivity suite every user gets.
    Suite,
    /// Bought for some of the suite's users.
    AddOn,
    /// Dynamics 365, bought by some customers.
    Dynamics,
}

/// A product of the catalogue.
#[derive(Debug, PartialEq)]
pub struct Product {
    /// Upper-case GUID, as the commercial endpoints show it.
    pub id: &'static str,
    pub name: &'static str,
    pub service: Service,
    pub kind: Kind,
    /// Workloads with usage data; empty for products the usage endpoints do not cover (calling
    /// plans, Power BI, …), which still appear in the deployment data.
    pub workloads: &'static [&'static Workload],
}

const fn product(
    id: &'static str,
    name: &'static str,
    service: Service,
    kind: Kind,
    workloads: &'static [&'static Workload],
) -> Product {
    Product {
        id,
        name,
        service,
        kind,
        workloads,
    }
}

use Kind::{AddOn, Dynamics, Suite};
use Service::{Dynamics as Crm, Office};

/// Every product the synthetic partner sells.
#[rustfmt::skip]
pub static PRODUCTS: &[Product] = &[
    product("18181A46-0D4E-45CD-891E-60AABD171B4E", "OFFICE 365 ENTERPRISE E1", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS, &YAM]),
    product("6FD2C87F-B296-42F0-B197-1E91E994B900", "OFFICE 365 ENTERPRISE E3", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS, &SFB, &YAM]),
    product("C7DF2760-2C81-4EF7-B578-5B5392B571DF", "OFFICE 365 ENTERPRISE E5", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS, &SFB, &YAM]),
    product("05E9A617-0261-4CEE-BB44-138D3EF5D965", "MICROSOFT 365 E3", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS, &YAM]),
    product("06EBC4EE-1BB5-47DD-8120-11324BC54E06", "MICROSOFT 365 E5", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS, &YAM]),
    product("3B555118-DA6A-4418-894F-7DF1E2096870", "MICROSOFT 365 BUSINESS BASIC", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS]),
    product("F245ECC8-75AF-4F8E-B61F-27D8114DE5F3", "MICROSOFT 365 BUSINESS STANDARD", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS]),
    product("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46", "MICROSOFT 365 BUSINESS PREMIUM", Office, Suite, &[&EXO, &SPO, &OD4B, &TEAMS]),
    product("4B9405B0-7788-4568-ADD1-99614E613B69", "EXCHANGE ONLINE (PLAN 1)", Office, AddOn, &[&EXO]),
    product("19EC0D23-8335-4CBD-94AC-6050E30712FA", "EXCHANGE ONLINE (PLAN 2)", Office, AddOn, &[&EXO]),
    product("EE02FD1B-340E-4A4B-B355-4A514E4C8943", "EXCHANGE ONLINE ARCHIVING FOR EXCHANGE ONLINE", Office, AddOn, &[&EXO]),
    product("45A2423B-E884-448D-A831-D9E139C52D2F", "EXCHANGE ONLINE PROTECTION", Office, AddOn, &[&EXO]),
    product("D3B4FE1F-9992-4930-8ACB-CA6EC609365E", "DOMESTIC AND INTERNATIONAL CALLING PLAN", Office, AddOn, &[]),
    product("E43B5B99-8DFB-405F-9987-DC307F34BCBD", "MICROSOFT TEAMS PHONE STANDARD", Office, AddOn, &[]),
    product("F8A1DB68-BE16-40ED-86D5-CB42CE701560", "POWER BI PRO", Office, AddOn, &[]),
    product("53818B1B-4A27-454B-8896-0DBA576410E6", "PROJECT PLAN 3", Office, AddOn, &[]),
    product("C5928F49-12BA-48F7-ADA3-0D743A3601D5", "VISIO PLAN 2", Office, AddOn, &[]),
    product("1E1A282C-9C54-43A2-9310-98EF728FAACE", "DYNAMICS 365 SALES ENTERPRISE", Crm, Dynamics, &[&CRM]),
    product("749742BF-0D37-4158-A120-33567104DEEB", "DYNAMICS 365 CUSTOMER SERVICE ENTERPRISE", Crm, Dynamics, &[&CRM]),
    product("7AC9FE77-66B7-4E5E-9E46-10EED1CFF547", "DYNAMICS 365 TEAM MEMBERS", Crm, Dynamics, &[&CRM]),
    product("2880026B-2B0C-4251-8656-5D41FF11E3AA", "DYNAMICS 365 BUSINESS CENTRAL ESSENTIALS", Crm, Dynamics, &[]),
    product("54B84594-9C77-4499-8D65-5E0D5F410E78", "DYNAMICS AX TASK", Crm, Dynamics, &[]),
];

/// Products of one kind.
pub fn of_kind(kind: Kind) -> Vec<&'static Product> {
    PRODUCTS.iter().filter(|p| p.kind == kind).collect()
}

/// Company names that exercise escaping: apostrophes, double quotes, backslashes and non-ASCII
/// text. Every fifth customer gets one, in this order, so even a small partner has them all.
pub static TRICKY_NAMES: &[&str] = &[
    "O'Brien & Sons Plumbing",
    "Müller Bäckerei GmbH",
    "The \"Blue Door\" Company Ltd",
    "Back\\Slash Studios LLC",
    "株式会社さくら商事",
    "L'Atelier Crème Brûlée SARL",
    "Zürich \"Alpen\" Beratung AG",
    "C:\\Temp Data Recovery Inc.",
    "Ørsted Vind ApS",
    "Ελληνικά Ναυτιλιακά Α.Ε.",
    "Škoda Dílna s.r.o.",
    "Rocket 🚀 Labs Inc.",
    "Al-Manara Trading (شركة المنارة)",
    "Łódź Logistyka Sp. z o.o.",
    "D'Angelo's \"Famous\" Pizzeria",
];

/// First words of generated company names.
pub static NAME_HEADS: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Woodgrove",
    "Litware",
    "Proseware",
    "Wingtip",
    "Alpine",
    "Coho",
    "Lamna",
    "Adatum",
    "Blue Yonder",
    "Trey",
    "Humongous",
    "Relecloud",
    "Southridge",
    "Fourth Coffee",
    "Graphic Design",
    "Lucerne",
    "Margie's",
    "Nod",
    "Wide World",
    "Cedar",
    "Granite",
    "Harbor",
    "Lakeside",
    "Pioneer",
    "Redwood",
    "Silverline",
    "Summit",
    "Bluebird",
    "Evergreen",
    "Ironbridge",
    "Maple",
    "Oakridge",
    "Riverside",
    "Sunrise",
    "Westfield",
    "Brightwater",
];

/// Second words of generated company names.
pub static NAME_TAILS: &[&str] = &[
    "Traders",
    "Logistics",
    "Health",
    "Dental Care",
    "Legal",
    "Engineering",
    "Foods",
    "Consulting",
    "Architects",
    "Insurance",
    "Bank",
    "Electric",
    "Pharmaceuticals",
    "Travel",
    "Motors",
    "Media",
    "Construction",
    "Accounting",
    "Hotels",
    "Retail",
    "Energy",
    "Labs",
    "Textiles",
    "Analytics",
];

/// Legal-form suffixes of generated company names.
pub static NAME_SUFFIXES: &[&str] = &[
    "Ltd", "Inc.", "GmbH", "LLC", "B.V.", "S.A.", "Pty Ltd", "AB", "Oy", "plc", "Corp.", "", "", "",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_are_distinct_upper_case_guids() {
        let mut ids: Vec<&str> = PRODUCTS.iter().map(|p| p.id).collect();
        for id in &ids {
            assert_eq!(id.len(), 36);
            assert_eq!(*id, id.to_uppercase());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PRODUCTS.len());
    }

    #[test]
    fn the_first_tricky_names_cover_every_escaping_hazard() {
        let first = &TRICKY_NAMES[..5];
        assert!(first.iter().any(|n| n.contains('\'')));
        assert!(first.iter().any(|n| n.contains('"')));
        assert!(first.iter().any(|n| n.contains('\\')));
        assert!(first.iter().any(|n| !n.is_ascii()));
    }
}
