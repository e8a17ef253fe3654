//! The scheduler against a scripted fake collector, in tokio's paused time: ordering and counts,
//! never wall-clock timing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::*;
use crate::client::AnalyticsQuery;
use crate::collector::CollectorMode;
use crate::collector::Dataset;
use crate::model::UsageRow;
use crate::storage::Stored;
use chrono::Utc;

const HOUR: Duration = Duration::from_secs(3600);

/// What one run of a fake collector does.
enum Step {
    Rows(usize),
    Fail,
    Panic,
    /// Wait for the sender, then return rows.
    Gate(oneshot::Receiver<()>),
    /// Return this dataset.
    Data(Dataset),
}

struct Fake {
    config: CollectionConfig,
    script: Mutex<HashMap<CollectorKind, VecDeque<Step>>>,
    /// Per collector: the correlation id of every run started.
    starts: Mutex<HashMap<CollectorKind, Vec<uuid::Uuid>>>,
}

impl Fake {
    fn new(config: CollectionConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            script: Mutex::default(),
            starts: Mutex::default(),
        })
    }

    fn then(&self, kind: CollectorKind, step: Step) {
        self.script
            .lock()
            .unwrap()
            .entry(kind)
            .or_default()
            .push_back(step);
    }

    fn starts(&self, kind: CollectorKind) -> usize {
        self.starts.lock().unwrap().get(&kind).map_or(0, Vec::len)
    }

    fn ids(&self, kind: CollectorKind) -> Vec<uuid::Uuid> {
        self.starts
            .lock()
            .unwrap()
            .get(&kind)
            .cloned()
            .unwrap_or_default()
    }
}

impl Collect for Fake {
    fn config(&self) -> &CollectionConfig {
        &self.config
    }
    fn run<'a>(&'a self, kind: CollectorKind, ctx: &'a RunContext) -> BoxFuture<'a, RunOutcome> {
        self.starts
            .lock()
            .unwrap()
            .entry(kind)
            .or_default()
            .push(ctx.correlation_id());
        let step = self
            .script
            .lock()
            .unwrap()
            .get_mut(&kind)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Step::Rows(1));
        Box::pin(async move {
            let rows = |n: usize| {
                Ok(Dataset::Usage(
                    (0..n)
                        .map(|i| UsageRow {
                            customer_tenant_id: format!("c{i}").into(),
                            licenses_active: 1.0,
                            ..Default::default()
                        })
                        .collect(),
                ))
            };
            let result = match step {
                Step::Rows(n) => rows(n),
                Step::Fail => Err(CollectError::Timeout(Duration::from_secs(1))),
                Step::Panic => panic!("scripted panic"),
                Step::Gate(gate) => {
                    let _ = gate.await;
                    rows(2)
                }
                Step::Data(dataset) => Ok(dataset),
            };
            RunOutcome {
                kind,
                result,
                customer_errors: 0,
                duration: Duration::from_millis(1),
                customers: None,
            }
        })
    }
}

fn config(enabled: &[CollectorKind], intervals: &[(CollectorKind, Duration)]) -> CollectionConfig {
    CollectionConfig {
        enabled: enabled.to_vec(),
        mode: CollectorMode::Interval,
        interval: HOUR,
        intervals: intervals.iter().copied().collect::<BTreeMap<_, _>>(),
        min_interval: Duration::from_secs(300),
        max_age: 25 * HOUR,
        timeout: 30 * 60 * Duration::from_secs(1),
        retry_backoff: Duration::from_secs(30),
        usage_query: AnalyticsQuery::default(),
        deployment_query: AnalyticsQuery::default(),
        fanout_concurrency: 4,
        catalog_country: "US".into(),
        filter: Default::default(),
    }
}

fn scheduler(fake: &Arc<Fake>) -> Arc<Scheduler> {
    let metrics = Arc::new(ExporterMetrics::new(&[]).unwrap());
    Arc::new(Scheduler::new(
        fake.clone(),
        Derived::new(None, Default::default()),
        metrics,
        None,
    ))
}

fn rows_of(scheduler: &Scheduler, kind: CollectorKind) -> Option<usize> {
    scheduler
        .snapshot()
        .collector(kind)
        .and_then(|c| c.data.as_ref().map(|d| d.rows))
}

/// Let the spawned tasks (and the renders on the blocking pool, which paused time waits for)
/// finish: 20 virtual milliseconds.
async fn settle() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_collector_does_not_delay_another_collectors_publication() {
    let fake = Fake::new(config(&[CollectorKind::Usage, CollectorKind::Deployment], &[]));
    let (open, gate) = oneshot::channel();
    fake.then(CollectorKind::Usage, Step::Gate(gate));
    fake.then(CollectorKind::Deployment, Step::Rows(3));
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    settle().await;
    assert_eq!(rows_of(&scheduler, CollectorKind::Deployment), Some(3));
    assert_eq!(
        rows_of(&scheduler, CollectorKind::Usage),
        None,
        "usage is still running"
    );
    assert!(
        scheduler.snapshot().has_data(),
        "ready from the first collector that finished"
    );
    open.send(()).unwrap();
    settle().await;
    assert_eq!(rows_of(&scheduler, CollectorKind::Usage), Some(2));
    assert_eq!(
        rows_of(&scheduler, CollectorKind::Deployment),
        Some(3),
        "no mixing"
    );
    cancel.cancel();
    loop_task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn each_collector_runs_on_its_own_interval() {
    let fake = Fake::new(config(
        &[CollectorKind::Usage, CollectorKind::Deployment],
        &[(CollectorKind::Deployment, 6 * HOUR)],
    ));
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    tokio::time::sleep(3 * HOUR + Duration::from_secs(10)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 4, "at 0, 1, 2 and 3 h");
    assert_eq!(fake.starts(CollectorKind::Deployment), 1);
    cancel.cancel();
    loop_task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_is_retried_after_the_backoff_not_after_an_interval() {
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    fake.then(CollectorKind::Usage, Step::Fail);
    fake.then(CollectorKind::Usage, Step::Fail);
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    settle().await;
    assert_eq!(fake.starts(CollectorKind::Usage), 1);
    assert!(!scheduler.snapshot().has_data());
    // First retry within 30 s (15–30 s with jitter), the second within 60 s after it.
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 2);
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 3);
    assert_eq!(rows_of(&scheduler, CollectorKind::Usage), Some(1));
    assert!(
        scheduler
            .snapshot()
            .collector(CollectorKind::Usage)
            .unwrap()
            .healthy()
    );
    // Then the normal interval again.
    tokio::time::sleep(HOUR / 2).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 3);
    cancel.cancel();
    loop_task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_panicking_collector_is_a_failed_run_that_is_retried() {
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    fake.then(CollectorKind::Usage, Step::Panic);
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    settle().await;
    let snapshot = scheduler.snapshot();
    let usage = snapshot.collector(CollectorKind::Usage).unwrap();
    let error = usage.last_run.as_ref().and_then(|r| r.error.clone()).unwrap();
    assert!(error.contains("panicked"), "{error}");
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 2);
    assert_eq!(rows_of(&scheduler, CollectorKind::Usage), Some(1));
    cancel.cancel();
    loop_task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_keeps_the_last_good_data() {
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    fake.then(CollectorKind::Usage, Step::Rows(5));
    fake.then(CollectorKind::Usage, Step::Fail);
    let scheduler = scheduler(&fake);
    scheduler.run_once().await;
    let snapshot = scheduler.run_once().await;
    let usage = snapshot.collector(CollectorKind::Usage).unwrap();
    assert!(!usage.healthy());
    assert_eq!(usage.data.as_ref().map(|d| d.rows), Some(5));
}

#[tokio::test(start_paused = true)]
async fn collectors_started_together_share_one_run_context() {
    let fake = Fake::new(config(
        &[CollectorKind::Usage, CollectorKind::CustomerDeployment],
        &[],
    ));
    let scheduler = scheduler(&fake);
    scheduler.run_once().await;
    scheduler.run_once().await;
    let usage = fake.ids(CollectorKind::Usage);
    let customers = fake.ids(CollectorKind::CustomerDeployment);
    assert_eq!(usage.len(), 2);
    assert_eq!(
        usage, customers,
        "one correlation id (and customer list) per tick"
    );
    assert_ne!(usage[0], usage[1], "a new one for every tick");
}

#[tokio::test(start_paused = true)]
async fn runs_of_one_collector_never_overlap() {
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    let (open, gate) = oneshot::channel();
    fake.then(CollectorKind::Usage, Step::Gate(gate));
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    tokio::time::sleep(3 * HOUR).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 1, "still the first, slow run");
    open.send(()).unwrap();
    settle().await;
    // Overdue: the next run starts as soon as the slow one has finished.
    assert_eq!(fake.starts(CollectorKind::Usage), 2);
    cancel.cancel();
    loop_task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_aborts_a_run_in_progress() {
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    let (_never, gate) = oneshot::channel();
    fake.then(CollectorKind::Usage, Step::Gate(gate));
    let scheduler = scheduler(&fake);
    let cancel = CancellationToken::new();
    let loop_task = tokio::spawn(scheduler.clone().run_interval(cancel.clone()));
    settle().await;
    cancel.cancel();
    loop_task.await.unwrap();
    settle().await;
    assert!(
        scheduler.lock_kinds().values().all(|s| s.running.is_none()),
        "the aborted run is no longer counted as running"
    );
}

#[tokio::test(start_paused = true)]
async fn scrape_mode_retries_a_failed_collector_once_its_backoff_is_over() {
    let mut config = config(&[CollectorKind::Usage], &[]);
    config.mode = CollectorMode::Scrape;
    let fake = Fake::new(config);
    fake.then(CollectorKind::Usage, Step::Fail);
    let scheduler = scheduler(&fake);
    scheduler.refresh_for_scrape(Duration::from_secs(1)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 1);
    scheduler.refresh_for_scrape(Duration::from_secs(1)).await;
    assert_eq!(
        fake.starts(CollectorKind::Usage),
        1,
        "not before the backoff is over"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    scheduler.refresh_for_scrape(Duration::from_secs(1)).await;
    assert_eq!(fake.starts(CollectorKind::Usage), 2);
    assert_eq!(rows_of(&scheduler, CollectorKind::Usage), Some(1));
    scheduler.refresh_for_scrape(Duration::from_secs(1)).await;
    assert_eq!(
        fake.starts(CollectorKind::Usage),
        2,
        "fresh data is not collected again"
    );
}

#[tokio::test(start_paused = true)]
async fn stored_data_is_served_with_its_collection_time_until_the_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path().to_owned());
    let collected_at = Utc::now() - chrono::Duration::hours(2);
    storage
        .save(&Stored {
            kind: CollectorKind::Usage,
            collected_at,
            processed_at: None,
            dataset: Dataset::Usage(vec![UsageRow::default(); 7]),
        })
        .unwrap();
    let fake = Fake::new(config(&[CollectorKind::Usage], &[]));
    let metrics = Arc::new(ExporterMetrics::new(&[]).unwrap());
    let scheduler = Arc::new(Scheduler::new(
        fake.clone(),
        Derived::new(None, Default::default()),
        metrics,
        Some(storage.clone()),
    ));
    assert_eq!(scheduler.restore().await, 1);
    let snapshot = scheduler.snapshot();
    let usage = snapshot.collector(CollectorKind::Usage).unwrap();
    assert!(snapshot.has_data() && usage.restored);
    assert_eq!(usage.last_success, Some(collected_at));
    assert_eq!(usage.data.as_ref().map(|d| d.rows), Some(7));
    let snapshot = scheduler.run_once().await;
    let usage = snapshot.collector(CollectorKind::Usage).unwrap();
    assert!(!usage.restored);
    assert_eq!(
        usage.data.as_ref().map(|d| d.rows),
        Some(1),
        "the first run replaces it"
    );
    let on_disk = storage.load(CollectorKind::Usage).unwrap().unwrap();
    assert_eq!(
        on_disk.dataset,
        Dataset::Usage(vec![UsageRow {
            customer_tenant_id: "c0".into(),
            licenses_active: 1.0,
            ..Default::default()
        }])
    );
}

#[tokio::test(start_paused = true)]
async fn the_info_series_name_each_customer_once_whichever_collectors_know_it() {
    let fake = Fake::new(config(&[CollectorKind::Usage, CollectorKind::Deployment], &[]));
    fake.then(CollectorKind::Usage, Step::Rows(3));
    fake.then(CollectorKind::Deployment, Step::Rows(5));
    let scheduler = scheduler(&fake);
    let snapshot = scheduler.run_once().await;
    let text = String::from_utf8(snapshot.names.text_chunks().collect::<Vec<_>>().concat()).unwrap();
    for i in 0..5 {
        let line =
            format!("partnercenter_customer_info{{customer_tenant_id=\"c{i}\",customer_name=\"\"}} 1\n");
        assert_eq!(text.matches(&line).count(), 1, "{text}");
    }
    assert_eq!(
        snapshot.names.series, 5,
        "c0..c2 are known to both collectors, once each"
    );

    // A failed run keeps its collector's data, and so its names.
    fake.then(CollectorKind::Deployment, Step::Fail);
    fake.then(CollectorKind::Usage, Step::Rows(1));
    let snapshot = scheduler.run_once().await;
    assert_eq!(snapshot.names.series, 5);
}

fn subscription(customer: &str, id: &str, quantity: f64) -> crate::model::SubscriptionRow {
    use crate::model::{Commerce, SubscriptionRow, SubscriptionStatus};
    SubscriptionRow {
        customer_tenant_id: customer.into(),
        customer_name: format!("Customer {customer}"),
        subscription_id: id.into(),
        offer_id: "P:0001:A".into(),
        offer_name: "Office 365 E3".into(),
        friendly_name: id.into(),
        commerce: Commerce::Nce,
        catalog_product_id: "P".into(),
        catalog_sku_id: "0001".into(),
        catalog_country: None,
        product_type: "OnlineServicesNCE".into(),
        sku_id: "e3".into(),
        quantity,
        status: SubscriptionStatus::Active,
        auto_renew: true,
        is_trial: false,
        billing_cycle: None,
        term: None,
        renewal_term: None,
        term_end: None,
        cancellation_allowed_until: None,
        scheduled_next_term: None,
    }
}

#[tokio::test(start_paused = true)]
async fn unused_licenses_are_derived_whenever_either_commercial_collector_publishes() {
    use crate::model::{SubscribedSkuRow, SubscribedSkus};
    let fake = Fake::new(config(
        &[CollectorKind::Subscriptions, CollectorKind::SubscribedSkus],
        &[],
    ));
    fake.then(
        CollectorKind::Subscriptions,
        Step::Data(Dataset::Subscriptions(vec![subscription("c1", "s1", 10.0)])),
    );
    fake.then(CollectorKind::SubscribedSkus, Step::Fail);
    let scheduler = scheduler(&fake);
    scheduler.run_once().await;
    let derived = scheduler
        .snapshot()
        .derived
        .clone()
        .expect("derived from the subscriptions alone");
    let text = String::from_utf8(derived.data.text_chunks().collect::<Vec<_>>().concat()).unwrap();
    let names = scheduler.snapshot().names.clone();
    let names = String::from_utf8(names.text_chunks().collect::<Vec<_>>().concat()).unwrap();
    assert!(
        names.contains(
            r#"partnercenter_customer_info{customer_tenant_id="c1",customer_name="Customer c1"} 1"#
        ),
        "the subscriptions name their customer once, in the shared info series: {names}"
    );
    assert!(
        !text.contains("partnercenter_subscription_unused_licenses{"),
        "no licence counts yet: {text}"
    );

    let tenant = SubscribedSkuRow {
        customer_tenant_id: "c1".into(),
        sku_id: "e3".into(),
        total_units: 10.0,
        consumed_units: 7.0,
        ..SubscribedSkuRow::default()
    };
    fake.then(
        CollectorKind::SubscribedSkus,
        Step::Data(Dataset::SubscribedSkus(SubscribedSkus {
            rows: vec![tenant],
            access: vec![],
        })),
    );
    scheduler.run_once().await;
    let later = scheduler.snapshot().derived.clone().expect("derived");
    assert!(later.generation > derived.generation);
    let text = String::from_utf8(later.data.text_chunks().collect::<Vec<_>>().concat()).unwrap();
    assert!(
        text.contains(r#"partnercenter_subscription_unused_licenses{customer_tenant_id="c1",subscription_id="s1",sku_id="e3"} 3"#),
        "the subscriptions of the first run with the counts of the second: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn stored_commercial_data_gives_the_unused_licenses_at_start() {
    use crate::model::{SubscribedSkuRow, SubscribedSkus};
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path().to_owned());
    let collected_at = Utc::now() - chrono::Duration::hours(1);
    let tenant = SubscribedSkuRow {
        customer_tenant_id: "c1".into(),
        sku_id: "e3".into(),
        total_units: 10.0,
        consumed_units: 4.0,
        ..SubscribedSkuRow::default()
    };
    for (kind, dataset) in [
        (
            CollectorKind::Subscriptions,
            Dataset::Subscriptions(vec![subscription("c1", "s1", 10.0)]),
        ),
        (
            CollectorKind::SubscribedSkus,
            Dataset::SubscribedSkus(SubscribedSkus {
                rows: vec![tenant],
                access: vec![],
            }),
        ),
    ] {
        storage
            .save(&Stored {
                kind,
                collected_at,
                processed_at: None,
                dataset,
            })
            .unwrap();
    }
    let fake = Fake::new(config(
        &[CollectorKind::Subscriptions, CollectorKind::SubscribedSkus],
        &[],
    ));
    let metrics = Arc::new(ExporterMetrics::new(&[]).unwrap());
    let scheduler = Arc::new(Scheduler::new(
        fake,
        Derived::new(None, Default::default()),
        metrics,
        Some(storage),
    ));
    assert_eq!(scheduler.restore().await, 2);
    let derived = scheduler
        .snapshot()
        .derived
        .clone()
        .expect("derived from the stored data");
    assert_eq!(derived.collected_at, collected_at);
    let text = String::from_utf8(derived.data.text_chunks().collect::<Vec<_>>().concat()).unwrap();
    assert!(
        text.contains(r#"partnercenter_subscription_unused_licenses{customer_tenant_id="c1",subscription_id="s1",sku_id="e3"} 6"#),
        "{text}"
    );
}
