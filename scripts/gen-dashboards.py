#!/usr/bin/env python3
"""Generate the Grafana dashboards in grafana/dashboards/ (the JSON files are committed).

    python3 scripts/gen-dashboards.py          rewrite grafana/dashboards/*.json
    python3 scripts/gen-dashboards.py --check  exit 1 if a committed dashboard differs (CI)

Writing the dashboards as code keeps the five of them consistent: every query goes to the
`${datasource}` variable (no data source UID is hard-coded), panels use the recording rules of
deploy/prometheus/rules.yml where one exists, and the template variables are the same everywhere.
Only the Python standard library is used.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "grafana" / "dashboards"
SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x
DS = {"type": "prometheus", "uid": "${datasource}"}
TAGS = ["partnercenter", "prometheus-exporter"]

# Label filters built from the template variables. "All" is sent as the regex `.*` (allValue).
F_CHANNEL = 'channel=~"$channel"'
F_PRODUCT = 'product_id=~"$product"'
F_CUSTOMER = 'customer_tenant_id=~"$customer"'
F_SERVICE = 'service_code=~"$service"'
F_JOB = 'job=~"$job", instance=~"$instance"'


# --------------------------------------------------------------------------------------------------
# Template variables
# --------------------------------------------------------------------------------------------------
def var_datasource():
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
    }


def var_query(name, label, query, regex="", multi=True, include_all=True, sort=1):
    v = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": {},
        "hide": 0,
        "includeAll": include_all,
        "multi": multi,
        "options": [],
        "refresh": 2,  # on time range change: customers and products come and go
        "regex": regex,
        "skipUrlSync": False,
        "sort": sort,
    }
    if include_all:
        v["allValue"] = ".*"
    return v


LICENSE_SERIES = '{__name__=~"partnercenter_licenses_(qualified|sold)", %s}'

# The exporter's value series carry ids only; one info series per object carries its name. A panel
# that groups raw series by ids joins the names in with `named`, the way the recording rules do
# (deploy/prometheus/rules.yml explains the topk: it keeps the join from failing if two info
# series of one id are ever seen at once).
INFO = {
    "product": ("product_id", "product_name", "partnercenter_product_info"),
    "workload": ("workload_code", "workload_name", "partnercenter_workload_info"),
    "customer": ("customer_tenant_id", "customer_name", "partnercenter_customer_info"),
}


def named(expr, *kinds):
    """expr (grouped by the kinds' ids) with the kinds' names joined in."""
    out = f"({expr})"
    for kind in kinds:
        id_label, name_label, info = INFO[kind]
        out += f" * on ({id_label}) group_left ({name_label}) topk by ({id_label}) (1, {info})"
    return out


def var_channel():
    return var_query(
        "channel",
        "Channel",
        'label_values({__name__=~"partnercenter_licenses_(qualified|sold)|partnercenter_partner_licenses_sold"}, channel)',
    )


def var_product(extra=F_CHANNEL):
    # Shows the product name (from its info series), filters on the product id: the products that
    # have license series in the selected channels.
    return var_query(
        "product",
        "Product",
        "query_result(group by (product_id, product_name) (partnercenter_product_info and on (product_id) "
        + LICENSE_SERIES % extra + "))",
        regex='/product_id="(?<value>[^"]*)".*product_name="(?<text>[^"]*)"/',
    )


def var_customer(multi=True):
    # Shows the customer name (from its info series), filters on the tenant id (names are not
    # unique, and change): the customers that have license series in the selected channels.
    return var_query(
        "customer",
        "Customer",
        "query_result(group by (customer_tenant_id, customer_name) (partnercenter_customer_info and on (customer_tenant_id) "
        + LICENSE_SERIES % F_CHANNEL + "))",
        regex='/customer_name="(?<text>[^"]*)".*customer_tenant_id="(?<value>[^"]*)"/',
        multi=multi,
        include_all=multi,
    )


def var_service():
    return var_query(
        "service",
        "Service",
        'label_values({__name__=~"partnercenter_licenses_sold|partnercenter_partner_licenses_sold"}, service_code)',
    )


def var_job():
    return var_query("job", "Job", "label_values(partnercenter_build_info, job)")


def var_instance():
    return var_query("instance", "Instance", 'label_values(partnercenter_build_info{job=~"$job"}, instance)')


# --------------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------------
def target(expr, legend="", ref="A", instant=False, table=False):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant or table:
        t.update({"instant": True, "range": False})
    else:
        t.update({"instant": False, "range": True})
    if table:
        t["format"] = "table"
    return t


def thresholds(*steps):
    """steps: (color, value) pairs; the first value is ignored (base)."""
    out = []
    for i, (color, value) in enumerate(steps):
        out.append({"color": color, "value": None if i == 0 else value})
    return {"mode": "absolute", "steps": out}


UTIL_THRESHOLDS = thresholds(("red", None), ("orange", 0.3), ("green", 0.6))  # red: the alert's 30 %
DEPLOY_THRESHOLDS = thresholds(("red", None), ("orange", 0.8), ("green", 0.9))
NEUTRAL = thresholds(("blue", None))


def base_panel(ptype, title, targets, description="", unit=None, th=None, decimals=None):
    defaults = {"color": {"mode": "thresholds"}, "mappings": [], "thresholds": th or NEUTRAL}
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": ptype,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {},
    }


def stat(title, expr, description="", unit="short", th=None, legend="", decimals=None, text_mode="auto"):
    p = base_panel("stat", title, [target(expr, legend)], description, unit, th, decimals)
    p["options"] = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": text_mode,
    }
    return p


def timeseries(title, targets, description="", unit="short", stack=False, th=None, min0=True):
    p = base_panel("timeseries", title, targets, description, unit, th)
    custom = {
        "drawStyle": "line",
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    p["fieldConfig"]["defaults"]["custom"] = custom
    p["fieldConfig"]["defaults"]["color"] = {"mode": "palette-classic"}
    if min0:
        p["fieldConfig"]["defaults"]["min"] = 0
    p["options"] = {
        "legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["lastNotNull"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return p


def bargauge(title, expr, legend, description="", unit="short", th=None, max_=None):
    p = base_panel("bargauge", title, [target(expr, legend, instant=True)], description, unit, th)
    if max_ is not None:
        p["fieldConfig"]["defaults"]["min"] = 0
        p["fieldConfig"]["defaults"]["max"] = max_
    p["options"] = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "orientation": "horizontal",
        "displayMode": "gradient",
        "showUnfilled": True,
        "valueMode": "color",
        "namePlacement": "auto",
        "sizing": "auto",
        "minVizHeight": 16,
        "maxVizHeight": 300,
    }
    return p


def table(title, columns, keep, description="", sort_by=None, links=None):
    """columns: list of (header, expr, unit, thresholds). Instant queries, merged on their labels.

    keep: label columns to show (others are hidden)."""
    targets, rename, units, order = [], {}, [], {}
    for i, (header, expr, unit, th) in enumerate(columns):
        ref = chr(ord("A") + i)
        targets.append(target(expr, ref=ref, table=True))
        rename[f"Value #{ref}"] = header
        units.append((header, unit, th))
    for i, label in enumerate(keep):
        order[label] = i
    for i in range(len(columns)):
        order[f"Value #{chr(ord('A') + i)}"] = len(keep) + i  # organize is keyed by the original names
    p = base_panel("table", title, targets, description)
    p["transformations"] = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True},
                "indexByName": order,
                "renameByName": rename,
            },
        },
        # Hide every label column that is not listed in `keep`.
        {
            "id": "filterFieldsByName",
            "options": {"include": {"names": list(keep) + [c[0] for c in columns]}},
        },
    ]
    overrides = []
    for header, unit, th in units:
        props = [{"id": "unit", "value": unit}]
        if th:
            props += [
                {"id": "thresholds", "value": th},
                {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "gradient"}},
            ]
        overrides.append({"matcher": {"id": "byName", "options": header}, "properties": props})
    for field, link_title, url in links or []:
        overrides.append(
            {
                "matcher": {"id": "byName", "options": field},
                "properties": [{"id": "links", "value": [{"title": link_title, "url": url}]}],
            }
        )
    p["fieldConfig"]["overrides"] = overrides
    p["fieldConfig"]["defaults"]["custom"] = {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True}
    p["options"] = {
        "showHeader": True,
        "cellHeight": "sm",
        "footer": {"show": False, "reducer": ["sum"], "fields": ""},
        "sortBy": [{"displayName": sort_by[0], "desc": sort_by[1]}] if sort_by else [],
    }
    return p


def state_timeline(title, expr, legend, description=""):
    p = base_panel("state-timeline", title, [target(expr, legend)], description)
    p["fieldConfig"]["defaults"]["mappings"] = [
        {
            "type": "value",
            "options": {
                "0": {"text": "failed", "color": "red", "index": 0},
                "1": {"text": "ok", "color": "green", "index": 1},
            },
        }
    ]
    p["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
    p["fieldConfig"]["defaults"]["thresholds"] = thresholds(("red", None), ("green", 1))
    p["options"] = {
        "showValue": "never",
        "mergeValues": True,
        "alignValue": "left",
        "rowHeight": 0.8,
        "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return p


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def with_mappings(panel, mappings):
    """Show these values as text: {value: text}."""
    panel["fieldConfig"]["defaults"]["mappings"] = [
        {"type": "value", "options": {str(k): {"text": v, "index": i} for i, (k, v) in enumerate(mappings.items())}}
    ]
    return panel


# Money: -1 when no price file is loaded (shown as text), else the sum (0 when nothing is wasted).
NO_PRICES = "No prices loaded (start the exporter with --pricing.file)"


def priced(expr):
    return f"sum({expr}) or ((max(partnercenter_pricing_prices) > bool 0) - 1)"


# --------------------------------------------------------------------------------------------------
# Layout and dashboard
# --------------------------------------------------------------------------------------------------
def layout(items):
    """items: rows (dict type=row) or (panel, width, height). Fills 24 columns left to right."""
    panels, x, y, line_h = [], 0, 0, 0
    for pid, item in enumerate(items, start=1):
        if isinstance(item, dict):  # a row
            if x:
                y += line_h
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            item["id"] = pid
            panels.append(item)
            x, y, line_h = 0, y + 1, 0
            continue
        panel, w, h = item
        if x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        panel["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        panel["id"] = pid
        panels.append(panel)
        x += w
        line_h = max(line_h, h)
    return panels


def dashboard(uid, title, description, variables, items, time_from="now-30d", refresh="5m"):
    return {
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "title": "Partner Center",
                "type": "dashboards",
                "tags": ["partnercenter"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "panels": layout(items),
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "tags": TAGS,
        "templating": {"list": [var_datasource()] + variables},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# The customer's name joined in from the one place names live (partnercenter_customer_info), one
# info series per id (as `named` does).
NAMED_CUSTOMER = (" * on (customer_tenant_id) group_left (customer_name)"
                  " topk by (customer_tenant_id) (1, partnercenter_customer_info)")

CUSTOMER_LINK = (
    "customer_name",
    "Open the customer's dashboard",
    "/d/partnercenter-customer/partner-center-customer?var-customer=${__data.fields.customer_tenant_id}&${__url_time_range}",
)


# --------------------------------------------------------------------------------------------------
# 1. License utilization
# --------------------------------------------------------------------------------------------------
def utilization():
    sel = f"{F_CHANNEL}, {F_PRODUCT}, {F_CUSTOMER}"
    least = f"bottomk(20, customer:partnercenter_license_utilization:ratio{{{F_CUSTOMER}}})"
    on_least = f" and on (customer_tenant_id) {least}"
    items = [
        row("Partner-wide (all channels, products and customers)"),
        (stat("Utilization", "partner:partnercenter_license_utilization:ratio",
              "Active licenses / qualified licenses over all customers, products and workloads (sum, then divide).",
              unit="percentunit", th=UTIL_THRESHOLDS, decimals=1), 4, 5),
        (stat("Active licenses", "partner:partnercenter_licenses_active:sum"), 4, 5),
        (stat("Qualified licenses", "partner:partnercenter_licenses_qualified:sum"), 4, 5),
        (stat("Unused licenses", "partner:partnercenter_licenses_unused:sum", "Qualified minus active.",
              th=thresholds(("orange", None))), 4, 5),
        (stat("Customers alerting on low utilization",
              'count(ALERTS{alertname="PartnerCenterLicenseUtilizationLow", alertstate="firing"}) or vector(0)',
              "Customers for which PartnerCenterLicenseUtilizationLow fires (below 30 % with at least 10 qualified licenses, for a day).",
              th=thresholds(("green", None), ("orange", 1))), 4, 5),
        (stat("Customers", "count(customer:partnercenter_licenses_qualified:sum)",
              "Customers with usage data."), 4, 5),
        (stat("Unassigned paid licenses", "partner:partnercenter_subscription_unused_licenses:sum or vector(0)",
              "Licenses of the partner's subscriptions that nobody in the customers' tenants is assigned (subscriptions and subscribed-skus collectors; README \"Unused licenses\").",
              th=thresholds(("orange", None))), 12, 5),
        (with_mappings(stat("Money wasted per month", priced("partner:partnercenter_unused_licenses_cost_monthly:sum"),
                            "What the unassigned paid licenses cost a month at the prices of --pricing.file.",
                            th=thresholds(("orange", None)), decimals=2), {-1: NO_PRICES}), 12, 5),
        (timeseries("Active vs qualified licenses", [
            target("partner:partnercenter_licenses_qualified:sum", "qualified", "A"),
            target("partner:partnercenter_licenses_active:sum", "active", "B"),
        ], "Partner-wide totals over time."), 12, 8),
        (timeseries("Utilization", [
            target("partner:partnercenter_license_utilization:ratio", "partner-wide", "A"),
        ], "Partner-wide utilization over time.", unit="percentunit", th=UTIL_THRESHOLDS), 12, 8),
        row("Products and workloads"),
        (bargauge("Utilization by product", f"sort(product:partnercenter_license_utilization:ratio{{{F_PRODUCT}}})",
                  "{{product_name}}", "Active / qualified per product, over all customers and workloads.",
                  unit="percentunit", th=UTIL_THRESHOLDS, max_=1), 8, 10),
        (bargauge("Utilization by workload", "sort(workload:partnercenter_license_utilization:ratio)",
                  "{{workload_name}}", "Active / qualified per workload, over all customers and products.",
                  unit="percentunit", th=UTIL_THRESHOLDS, max_=1), 8, 10),
        (bargauge("Unused licenses by product", f"sort_desc(product:partnercenter_licenses_unused:sum{{{F_PRODUCT}}})",
                  "{{product_name}}", "Qualified minus active per product.",
                  th=thresholds(("orange", None))), 8, 10),
        (timeseries("Utilization by product", [
            target(f"product:partnercenter_license_utilization:ratio{{{F_PRODUCT}}}", "{{product_name}}"),
        ], unit="percentunit"), 12, 9),
        (timeseries("Utilization by workload", [
            target("workload:partnercenter_license_utilization:ratio", "{{workload_name}}"),
        ], unit="percentunit"), 12, 9),
        row("Customers"),
        (table("20 least-utilized customers", [
            ("Utilization", least, "percentunit", UTIL_THRESHOLDS),
            ("Unused", "customer:partnercenter_licenses_unused:sum" + on_least, "short", None),
            ("Active", "customer:partnercenter_licenses_active:sum" + on_least, "short", None),
            ("Qualified", "customer:partnercenter_licenses_qualified:sum" + on_least, "short", None),
            ("Unassigned paid", "customer:partnercenter_subscription_unused_licenses:sum" + on_least, "short", None),
            ("Wasted / month",
             "sum by (customer_tenant_id, customer_name) (customer:partnercenter_unused_licenses_cost_monthly:sum)"
             + on_least, "short", None),
        ], ["customer_name", "customer_tenant_id"],
            "Customers with the lowest utilization across all their products and workloads, with their paid licenses nobody is assigned and what those cost a month. Click a name for the customer's dashboard.",
            sort_by=("Utilization", False), links=[CUSTOMER_LINK]), 14, 14),
        (timeseries("Utilization of the selected customers", [
            target(f"customer:partnercenter_license_utilization:ratio{{{F_CUSTOMER}}}", "{{customer_name}}"),
        ], "Pick customers in the Customer variable; with All, every customer is drawn.",
            unit="percentunit"), 10, 14),
        row("Selection (the Channel, Product and Customer variables applied to the raw series)"),
        (stat("Utilization of the selection",
              f"sum(partnercenter_licenses_active{{{sel}}}) / (sum(partnercenter_licenses_qualified{{{sel}}}) > 0)",
              "Sum of active over the selected series divided by the sum of qualified.",
              unit="percentunit", th=UTIL_THRESHOLDS, decimals=1), 6, 8),
        (timeseries("Active vs qualified, selection", [
            target(f"sum(partnercenter_licenses_qualified{{{sel}}})", "qualified", "A"),
            target(f"sum(partnercenter_licenses_active{{{sel}}})", "active", "B"),
        ]), 9, 8),
        (timeseries("Utilization by channel, selection", [
            target(f"sum by (channel) (partnercenter_licenses_active{{{sel}}}) / (sum by (channel) (partnercenter_licenses_qualified{{{sel}}}) > 0)",
                   "{{channel}}"),
        ], unit="percentunit"), 9, 8),
    ]
    return dashboard(
        "partnercenter-utilization",
        "Partner Center / License utilization",
        "Active vs qualified licenses of all customers (Partner Center license analytics).",
        [var_channel(), var_product(), var_customer()],
        items,
    )


# --------------------------------------------------------------------------------------------------
# 2. Customer
# --------------------------------------------------------------------------------------------------
def customer():
    c = 'customer_tenant_id="$customer"'
    sel = f"{c}, {F_PRODUCT}, {F_CHANNEL}"
    by_pw = "sum by (product_id, workload_code)"
    by_p = "sum by (product_id)"
    by_w = "sum by (workload_code)"
    act = f"partnercenter_licenses_active{{{sel}}}"
    qual = f"partnercenter_licenses_qualified{{{sel}}}"
    dep = f"partnercenter_licenses_deployed{{{sel}}}"
    sold = f"partnercenter_licenses_sold{{{sel}}}"
    items = [
        row("Usage and deployment (all products, workloads and channels)"),
        (stat("Utilization", f"customer:partnercenter_license_utilization:ratio{{{c}}}",
              "Active / qualified over all the customer's products and workloads.",
              unit="percentunit", th=UTIL_THRESHOLDS, decimals=1), 4, 5),
        (stat("Active licenses", f"customer:partnercenter_licenses_active:sum{{{c}}}"), 3, 5),
        (stat("Qualified licenses", f"customer:partnercenter_licenses_qualified:sum{{{c}}}"), 3, 5),
        (stat("Unused licenses", f"customer:partnercenter_licenses_unused:sum{{{c}}}",
              th=thresholds(("orange", None))), 3, 5),
        (stat("Deployed / sold", f"customer:partnercenter_license_deployment:ratio{{{c}}}",
              "Deployed licenses / licenses sold over all the customer's products.",
              unit="percentunit", th=DEPLOY_THRESHOLDS, decimals=1), 4, 5),
        (stat("Licenses sold", f"customer:partnercenter_licenses_sold:sum{{{c}}}"), 3, 5),
        (stat("Sold, not deployed", f"customer:partnercenter_licenses_undeployed:sum{{{c}}}",
              th=thresholds(("orange", None))), 4, 5),
        row("Products x workloads (Product and Channel variables apply)"),
        (table("Usage by product and workload", [
            ("Utilization", named(f"{by_pw} ({act}) / ({by_pw} ({qual}) > 0)", "product", "workload"),
             "percentunit", UTIL_THRESHOLDS),
            ("Active", named(f"{by_pw} ({act})", "product", "workload"), "short", None),
            ("Qualified", named(f"{by_pw} ({qual})", "product", "workload"), "short", None),
            ("Unused", named(f"{by_pw} ({qual}) - {by_pw} ({act})", "product", "workload"),
             "short", None),
        ], ["product_name", "workload_name"], sort_by=("Utilization", False)), 14, 12),
        (table("Deployment by product", [
            ("Deployed / sold", named(f"{by_p} ({dep}) / ({by_p} ({sold}) > 0)", "product"),
             "percentunit", DEPLOY_THRESHOLDS),
            ("Deployed", named(f"{by_p} ({dep})", "product"), "short", None),
            ("Sold", named(f"{by_p} ({sold})", "product"), "short", None),
        ], ["product_name"], sort_by=("Deployed / sold", False)), 10, 12),
        row("Over time"),
        (timeseries("Utilization over time", [
            target(f"customer:partnercenter_license_utilization:ratio{{{c}}}", "all products", "A"),
            target(named(f"{by_p} ({act}) / ({by_p} ({qual}) > 0)", "product"), "{{product_name}}", "B"),
        ], unit="percentunit", th=UTIL_THRESHOLDS), 12, 9),
        (timeseries("Utilization by workload", [
            target(named(f"{by_w} ({act}) / ({by_w} ({qual}) > 0)", "workload"), "{{workload_name}}"),
        ], unit="percentunit"), 12, 9),
        (timeseries("Deployed vs sold", [
            target(f"sum({sold})", "sold", "A"),
            target(f"sum({dep})", "deployed", "B"),
        ]), 12, 8),
        (timeseries("Active vs qualified", [
            target(f"sum({qual})", "qualified", "A"),
            target(f"sum({act})", "active", "B"),
        ]), 12, 8),
    ]
    customer_product = var_product(extra=f'customer_tenant_id="$customer", {F_CHANNEL}')
    return dashboard(
        "partnercenter-customer",
        "Partner Center / Customer",
        "One customer's licenses: products x workloads, deployed vs sold, utilization over time.",
        [var_customer(multi=False), var_channel(), customer_product],
        items,
    )


# --------------------------------------------------------------------------------------------------
# 3. Deployment
# --------------------------------------------------------------------------------------------------
def deployment():
    ps = f"{F_SERVICE}, {F_CHANNEL}"
    sel = f"{F_SERVICE}, {F_CHANNEL}, {F_PRODUCT}, {F_CUSTOMER}"
    most = f"topk(20, customer:partnercenter_licenses_undeployed:sum{{{F_CUSTOMER}}})"
    on_most = f" and on (customer_tenant_id) {most}"
    items = [
        row("Partner-wide (customer-level data, all channels)"),
        (stat("Deployed / sold", "partner:partnercenter_license_deployment:ratio",
              "Deployed licenses / licenses sold over all customers and products (sum, then divide).",
              unit="percentunit", th=DEPLOY_THRESHOLDS, decimals=1), 6, 5),
        (stat("Licenses sold", "partner:partnercenter_licenses_sold:sum"), 6, 5),
        (stat("Licenses deployed", "partner:partnercenter_licenses_deployed:sum"), 6, 5),
        (stat("Sold, not deployed", "partner:partnercenter_licenses_sold:sum - partner:partnercenter_licenses_deployed:sum",
              th=thresholds(("orange", None))), 6, 5),
        row("Prorated deployment by service and channel (partner-level insights)"),
        (bargauge("Prorated deployment", f"sort(partnercenter_prorated_deployment_percent{{{ps}}})",
                  "{{service_code}} / {{channel}}",
                  "As Partner Center reports it (partner-deployment collector); Partner Center does not document whether the scale is 0-1 or 0-100.",
                  unit="none"), 8, 9),
        (bargauge("Licenses sold (partner-level)", f"sort_desc(partnercenter_partner_licenses_sold{{{ps}}})",
                  "{{service_code}} / {{channel}}"), 8, 9),
        (timeseries("Prorated deployment over time", [
            target(f"partnercenter_prorated_deployment_percent{{{ps}}}", "{{service_code}} / {{channel}}"),
        ], unit="none"), 8, 9),
        row("Sold vs deployed (customer-level data; Service, Channel, Product and Customer variables apply)"),
        (timeseries("Sold vs deployed", [
            target(f"sum(partnercenter_licenses_sold{{{sel}}})", "sold", "A"),
            target(f"sum(partnercenter_licenses_deployed{{{sel}}})", "deployed", "B"),
        ]), 12, 8),
        (bargauge("Deployed / sold by service and channel",
                  f"sum by (service_code, channel) (partnercenter_licenses_deployed{{{sel}}}) / (sum by (service_code, channel) (partnercenter_licenses_sold{{{sel}}}) > 0)",
                  "{{service_code}} / {{channel}}", unit="percentunit", th=DEPLOY_THRESHOLDS, max_=1), 12, 8),
        (bargauge("Deployed / sold by product", f"sort(product:partnercenter_license_deployment:ratio{{{F_PRODUCT}}})",
                  "{{product_name}}", "All channels and customers.", unit="percentunit", th=DEPLOY_THRESHOLDS, max_=1), 10, 12),
        (table("20 customers with the most licenses sold but not deployed", [
            ("Not deployed", most, "short", None),
            ("Deployed / sold", "customer:partnercenter_license_deployment:ratio" + on_most, "percentunit", DEPLOY_THRESHOLDS),
            ("Deployed", "customer:partnercenter_licenses_deployed:sum" + on_most, "short", None),
            ("Sold", "customer:partnercenter_licenses_sold:sum" + on_most, "short", None),
        ], ["customer_name", "customer_tenant_id"], "All products and channels of each customer.",
            sort_by=("Not deployed", True), links=[CUSTOMER_LINK]), 14, 12),
    ]
    return dashboard(
        "partnercenter-deployment",
        "Partner Center / Deployment",
        "Licenses sold vs deployed: prorated deployment per service and channel, and per customer and product.",
        [var_service(), var_channel(), var_product(), var_customer()],
        items,
    )


# --------------------------------------------------------------------------------------------------
# 4. Exporter health
# --------------------------------------------------------------------------------------------------
def health():
    j = F_JOB
    day = 86400
    items = [
        row("Exporter"),
        (stat("Up", f"up{{{j}}}", "Prometheus' scrape of the exporter.",
              th=thresholds(("red", None), ("green", 1)), legend="{{instance}}"), 4, 5),
        (stat("Version", f"partnercenter_build_info{{{j}}}", legend="{{version}}", text_mode="name"), 4, 5),
        (stat("Partner Center alerts firing",
              'count(ALERTS{alertname=~"PartnerCenter.*", alertstate="firing"}) or vector(0)',
              th=thresholds(("green", None), ("red", 1))), 4, 5),
        (stat("Collection interval", f"partnercenter_collector_interval_seconds{{{j}}}", unit="s",
              legend="{{instance}}"), 4, 5),
        (stat("Age of the data", f"max(time() - partnercenter_data_processed_timestamp_seconds{{{j}}})",
              "Now minus the newest processedDateTime that Partner Center returned (oldest collector). PartnerCenterDataStale alerts above 72 h.",
              unit="s", th=thresholds(("green", None), ("orange", 2 * day), ("red", 3 * day))), 4, 5),
        (stat("Refresh token age", f"max(time() - (partnercenter_refresh_token_rotated_timestamp_seconds{{{j}}} != 0))",
              "Time since the refresh token was last rotated. Tokens expire after 90 days; PartnerCenterRefreshTokenNotRotated alerts at 60.",
              unit="s", th=thresholds(("green", None), ("orange", 45 * day), ("red", 60 * day))), 4, 5),
        row("Collectors"),
        (state_timeline("Collector success", f"partnercenter_collector_success{{{j}}}", "{{collector}}",
                        "Result of each collector's last run."), 12, 7),
        (bargauge("Age of the last success", f"time() - partnercenter_collector_last_success_timestamp_seconds{{{j}}}",
                  "{{collector}}", "PartnerCenterRefreshStale alerts above two collection intervals.", unit="s"), 12, 7),
        (timeseries("Collection duration", [
            target(f"partnercenter_collector_duration_seconds{{{j}}}", "{{collector}}"),
        ], unit="s"), 8, 8),
        (timeseries("Rows collected", [
            target(f"partnercenter_collector_rows{{{j}}}", "{{collector}}"),
        ]), 8, 8),
        (timeseries("Age of the data by collector", [
            target(f"time() - partnercenter_data_processed_timestamp_seconds{{{j}}}", "{{collector}}"),
        ], unit="s"), 8, 8),
        (timeseries("Rows dropped by the customer and product filters", [
            target(f"partnercenter_collector_rows_dropped{{{j}}}", "{{collector}}"),
        ], "Rows of each collector's last good run that --collector.customers.* and --collector.products.* kept off /metrics (0 without those flags)."), 12, 7),
        (timeseries("Customers that failed in the last run", [
            target(f"partnercenter_collector_customer_errors{{{j}}}", "{{collector}}"),
        ], "Per-customer fan-out collectors (subscriptions, subscribed-skus, customer-usage, customer-deployment): customers whose requests failed or were refused (for subscribed-skus: no GDAP role)."), 12, 7),
        (timeseries("Scrape duration", [
            target(f"scrape_duration_seconds{{{j}}}", "{{instance}}"),
        ], unit="s"), 12, 7),
        row("Partner Center API"),
        (timeseries("API requests by status code", [
            target(f"sum by (code) (rate(partnercenter_api_requests_total{{{j}}}[$__rate_interval]))", "{{code}}"),
        ], unit="reqps", stack=True), 12, 8),
        (timeseries("API requests by endpoint", [
            target(f"sum by (endpoint) (rate(partnercenter_api_requests_total{{{j}}}[$__rate_interval]))", "{{endpoint}}"),
        ], unit="reqps", stack=True), 12, 8),
        (timeseries("Retries by reason", [
            target(f"sum by (reason) (rate(partnercenter_api_retries_total{{{j}}}[$__rate_interval]))", "{{reason}}"),
        ], "429 = throttled by Partner Center.", unit="reqps", stack=True), 8, 8),
        (stat("Throttled requests, last hour",
              f'(sum(increase(partnercenter_api_requests_total{{{j}, code="429"}}[1h])) or vector(0))'
              f' / sum(increase(partnercenter_api_requests_total{{{j}}}[1h]))',
              "Share of requests answered 429. PartnerCenterThrottled alerts above 10 % for an hour.",
              unit="percentunit", th=thresholds(("green", None), ("orange", 0.05), ("red", 0.1))), 4, 8),
        (timeseries("Token refreshes by result", [
            target(f"sum by (result) (increase(partnercenter_token_refreshes_total{{{j}}}[$__rate_interval]))", "{{result}}"),
        ], "invalid_grant or mfa_required: the refresh token needs a new consent.", stack=True), 12, 8),
        row("Process"),
        (timeseries("Resident memory", [target(f"process_resident_memory_bytes{{{j}}}", "{{instance}}")], unit="bytes"), 8, 7),
        (timeseries("CPU", [target(f"rate(process_cpu_seconds_total{{{j}}}[$__rate_interval])", "{{instance}}")], unit="percentunit"), 8, 7),
        (timeseries("Open file descriptors", [target(f"process_open_fds{{{j}}}", "{{instance}}")]), 8, 7),
    ]
    return dashboard(
        "partnercenter-exporter-health",
        "Partner Center / Exporter health",
        "partnercenter-exporter itself: collectors, data age, Partner Center API requests, retries, throttling and tokens.",
        [var_job(), var_instance()],
        items,
        time_from="now-24h",
        refresh="1m",
    )

# --------------------------------------------------------------------------------------------------
# 5. Renewals: seats paid for, seats used, and when it is too late
# --------------------------------------------------------------------------------------------------
def var_subscription_customer():
    # Customers with subscriptions; shows the name, filters on the tenant id.
    return var_query(
        "customer",
        "Customer",
        "query_result(group by (customer_tenant_id, customer_name) (partnercenter_customer_info"
        " * on (customer_tenant_id) group_left () group by (customer_tenant_id) (partnercenter_subscription_info)))",
        regex='/customer_name="(?<text>[^"]*)".*customer_tenant_id="(?<value>[^"]*)"/',
    )


def renewals():
    c = F_CUSTOMER
    on_sub = " and on (customer_tenant_id, subscription_id) "

    def within(days):
        return f"((partnercenter_subscription_term_end_timestamp_seconds{{{c}}} - time() > 0) < {days} * 86400)"

    def names(expr):
        return (f"max by (customer_tenant_id, subscription_id) ({expr})"
                " * on (customer_tenant_id, subscription_id) group_left (offer_name, friendly_name, term_duration)"
                " partnercenter_subscription_info" + NAMED_CUSTOMER)

    at_renewal = f"subscription:partnercenter_unused_licenses_at_renewal:sum{{{c}}}"
    renewing = f"({at_renewal} > 0)"
    keep = ["customer_name", "offer_name", "friendly_name", "term_duration", "subscription_id", "customer_tenant_id"]

    def renewal_table(days):
        w = within(days)
        return table(f"Renewals in the next {days} days with unused licenses", [
            ("Renews in", names(w + on_sub + renewing), "s", None),
            ("Unused at renewal", names(renewing + on_sub + w), "short", None),
            ("Licenses", names(f"partnercenter_subscription_licenses{{{c}}}" + on_sub + w + on_sub + renewing), "short", None),
            ("Locked in", names(f"subscription:partnercenter_unused_licenses_renewal_cost:sum{{{c}}}" + on_sub + w), "short", None),
        ], keep,
            f"Subscriptions that renew automatically within {days} days with paid licenses nobody is assigned, after any reduction already scheduled for the next term. Locked in: what renewing those seats commits for the next term (unused x monthly price x months); empty without a price.",
            sort_by=("Renews in", False), links=[CUSTOMER_LINK])

    def locked(days):
        return with_mappings(stat(
            f"Locked in by renewals in {days} days",
            priced(f"subscription:partnercenter_unused_licenses_renewal_cost:sum{{{c}}}" + on_sub + within(days)),
            "What the renewals commit for unused licenses for their next term, at the prices of --pricing.file.",
            th=thresholds(("orange", None)), decimals=2), {-1: NO_PRICES})

    top = f"topk(100, sum by (customer_tenant_id, sku_id) (partnercenter_subscription_unused_licenses{{{c}}}))"

    def per_sku(expr):
        return (f"({expr} and on (customer_tenant_id, sku_id) {top})"
                " * on (sku_id) group_left (sku_name) partnercenter_sku_info" + NAMED_CUSTOMER)

    open_window = f"(partnercenter_subscription_cancellation_allowed_until_timestamp_seconds{{{c}}} - time() > 0)"
    items = [
        row("Next renewals"),
        (stat("Unused licenses renewing in 30 days", f"sum({at_renewal}{on_sub}{within(30)}) or vector(0)",
              "Unused licenses that renew automatically within 30 days (after scheduled reductions).",
              th=thresholds(("green", None), ("orange", 1))), 4, 5),
        (stat("… in 90 days", f"sum({at_renewal}{on_sub}{within(90)}) or vector(0)",
              th=thresholds(("green", None), ("orange", 1))), 4, 5),
        (locked(30), 4, 5),
        (locked(90), 4, 5),
        (stat("Renewals alerting",
              'count(ALERTS{alertname="PartnerCenterUnusedLicensesRenewingSoon", alertstate="firing"}) or vector(0)',
              "Subscriptions for which PartnerCenterUnusedLicensesRenewingSoon fires.",
              th=thresholds(("green", None), ("orange", 1))), 2, 5),
        (with_mappings(stat("Prices loaded", "max(partnercenter_pricing_prices)",
                            "Prices read from --pricing.file (0: none; the money panels then say so)."),
                       {0: "none"}), 2, 5),
        (stat("Currency", "group by (currency) (partnercenter_license_unit_price)", legend="{{currency}}",
              text_mode="name"), 4, 5),
        (renewal_table(30), 24, 10),
        (renewal_table(90), 24, 10),
        row("Seats paid vs used"),
        (table("Seats paid vs used per customer and SKU (top 100 by unused)", [
            ("Paid (ours)", per_sku("customer_sku:partnercenter_subscription_paid_licenses:sum"), "short", None),
            ("Tenant total", per_sku('max by (customer_tenant_id, sku_id) (partnercenter_subscribed_sku_units{state="total"})'), "short", None),
            ("Assigned", per_sku('max by (customer_tenant_id, sku_id) (partnercenter_subscribed_sku_units{state="consumed"})'), "short", None),
            ("Unused (ours)", per_sku("sum by (customer_tenant_id, sku_id) (partnercenter_subscription_unused_licenses)"), "short", None),
            ("Cost / month", per_sku("sum by (customer_tenant_id, sku_id) (subscription:partnercenter_unused_licenses_cost_monthly:sum)"), "short", None),
        ], ["customer_name", "sku_name", "customer_tenant_id", "sku_id"],
            "Paid: this partner's billed licenses. Tenant total and assigned count every channel (subscribed SKUs). Unused: the unassigned seats attributed to this partner's subscriptions, never more than it pays for.",
            sort_by=("Unused (ours)", True), links=[CUSTOMER_LINK]), 14, 12),
        (bargauge("Unused licenses by customer (top 20)",
                  f"topk(20, customer:partnercenter_subscription_unused_licenses:sum{{{c}}})",
                  "{{customer_name}}", th=thresholds(("orange", None))), 10, 12),
        (timeseries("Unused licenses over time", [
            target("partner:partnercenter_subscription_unused_licenses:sum", "unused licenses"),
        ]), 12, 8),
        (timeseries("Monthly cost of unused licenses over time", [
            target("sum by (currency) (partner:partnercenter_unused_licenses_cost_monthly:sum)", "{{currency}}"),
        ], "Empty without --pricing.file."), 12, 8),
        row("Reduction windows open now"),
        (stat("Open windows with unused licenses",
              f"count({open_window}{on_sub}(partnercenter_subscription_unused_licenses > 0)) or vector(0)",
              "New-commerce subscriptions whose refund window (seven days after a purchase or renewal) is open, with unassigned licenses: reduce them now. PartnerCenterSeatReductionWindowClosing fires 48 h before the end.",
              th=thresholds(("green", None), ("orange", 1))), 4, 8),
        (table("Seat-reduction windows open now", [
            ("Closes in", names(open_window), "s", None),
            ("Unused", names(f"partnercenter_subscription_unused_licenses{{{c}}}" + on_sub + open_window), "short", None),
            ("Licenses", names(f"partnercenter_subscription_licenses{{{c}}}" + on_sub + open_window), "short", None),
            ("Cost / month", names(f"subscription:partnercenter_unused_licenses_cost_monthly:sum{{{c}}}" + on_sub + open_window), "short", None),
        ], keep, "Seats can be removed for a refund until the window closes; after it, the partner pays for them until the end of the term.",
            sort_by=("Closes in", False), links=[CUSTOMER_LINK]), 20, 8),
        row("Access"),
        (stat("Customers without GDAP access to license counts", "count(partnercenter_subscribed_skus_access == 0) or vector(0)",
              "Customers that refuse their subscribed SKUs: grant the exporter's user Directory Readers through their GDAP relationship. Their unused licenses cannot be known.",
              th=thresholds(("green", None), ("orange", 1))), 4, 8),
        (table("Customers without GDAP access", [
            ("Access", "(partnercenter_subscribed_skus_access == 0)" + NAMED_CUSTOMER, "short", None),
        ], ["customer_name", "customer_tenant_id"]), 20, 8),
    ]
    return dashboard(
        "partnercenter-renewals",
        "Partner Center / Renewals",
        "Seats paid for vs seats used, the renewals that lock in unused licenses, what they cost, and the refund windows open now.",
        [var_subscription_customer()],
        items,
        time_from="now-7d",
    )


DASHBOARDS = {
    "partnercenter-utilization.json": utilization,
    "partnercenter-customer.json": customer,
    "partnercenter-deployment.json": deployment,
    "partnercenter-exporter-health.json": health,
    "partnercenter-renewals.json": renewals,
}


def render(fn):
    return json.dumps(fn(), indent=2, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fn in DASHBOARDS.items():
        path = OUT / name
        text = render(fn)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if check:
        if stale:
            print("out of date (run scripts/gen-dashboards.py): " + ", ".join(stale), file=sys.stderr)
            return 1
        print("grafana/dashboards/*.json are up to date with scripts/gen-dashboards.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
