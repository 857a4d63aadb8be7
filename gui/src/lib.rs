//! # csvagent-desktop
//!
//! The csvagent desktop app: a thin Tauri 2 layer over `csvagent-sdk`. Every page action is a
//! Tauri command here that calls the same SDK function the CLI calls and returns serialisable
//! data or a [`CommandError`] (`{code, message}`). Run, image-build and upload progress reach
//! the page over a [`tauri::ipc::Channel`] carrying the SDK's own [`Event`] type. The page is
//! static HTML/CSS/JS in `gui/ui/` (no npm build).
//!
//! Modules: [`config`] (data/datasets dirs and teacher, from the environment), [`data`]
//! (Datasets, Questions, Episodes), [`run`] (Run view), [`system`] (System and Publish),
//! [`error`] (the error shape).

pub mod config;
pub mod data;
pub mod error;
pub mod run;
pub mod system;

use std::sync::{Arc, Mutex};

use csvagent_sdk::ErrorCode;
use csvagent_sdk::events::{Event, EventSink};
use csvagent_sdk::pipeline::DryRunPlan;
use csvagent_sdk::publish::{StagedUpload, TokenSource, UploadOutcome};
use csvagent_sdk::sandbox::{ImageInfo, PruneReport};
use csvagent_sdk::schema::Episode;
use tauri::ipc::Channel;
use tauri::{Builder, Runtime, State};

pub use config::AppConfig;
pub use error::{CommandError, CommandResult};
pub use run::{Action, Preflight, RunRequest, RunResult, RunSlot, StopOutcome};
pub use system::{PublishRequest, SystemStatus};

/// Everything the commands share: the configuration (editable from the page) and the run slot.
#[derive(Debug)]
pub struct AppState {
    config: Mutex<AppConfig>,
    run: Arc<RunSlot>,
}

impl AppState {
    /// State over `config` with no active run.
    pub fn new(config: AppConfig) -> AppState {
        AppState {
            config: Mutex::new(config),
            run: Arc::new(RunSlot::default()),
        }
    }

    fn config(&self) -> CommandResult<AppConfig> {
        self.config
            .lock()
            .map(|c| c.clone())
            .map_err(|_| CommandError::new(ErrorCode::Io, "app configuration is poisoned"))
    }

    /// The run slot (the one run this window may have active).
    pub fn run_slot(&self) -> &RunSlot {
        &self.run
    }
}

/// The current configuration.
#[tauri::command(rename_all = "snake_case")]
async fn get_config(state: State<'_, AppState>) -> CommandResult<AppConfig> {
    state.config()
}

/// Replaces the configuration (refused while a run is active).
#[tauri::command(rename_all = "snake_case")]
async fn set_config(state: State<'_, AppState>, config: AppConfig) -> CommandResult<AppConfig> {
    if config.data_dir.as_os_str().is_empty() || config.datasets_dir.as_os_str().is_empty() {
        return Err(CommandError::new(
            ErrorCode::InvalidInput,
            "data directory and datasets directory must not be empty",
        ));
    }
    if let Some(id) = state.run.active_run_id() {
        return Err(CommandError::new(
            ErrorCode::Preflight,
            format!("run {id} is active; change the configuration after it ends"),
        ));
    }
    let mut c = state
        .config
        .lock()
        .map_err(|_| CommandError::new(ErrorCode::Io, "app configuration is poisoned"))?;
    *c = config.clone();
    Ok(config)
}

#[tauri::command(rename_all = "snake_case")]
async fn list_datasets(state: State<'_, AppState>) -> CommandResult<data::DatasetList> {
    data::list_datasets(&state.config()?)
}

#[tauri::command(rename_all = "snake_case")]
async fn profile_dataset(
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<data::ProfileView> {
    data::profile_dataset(&state.config()?, &name).await
}

#[tauri::command(rename_all = "snake_case")]
async fn list_questions(
    state: State<'_, AppState>,
    source: Option<String>,
    dataset: Option<String>,
) -> CommandResult<data::QuestionList> {
    data::list_questions(&state.config()?, source.as_deref(), dataset.as_deref())
}

#[tauri::command(rename_all = "snake_case")]
async fn list_episodes(
    state: State<'_, AppState>,
    source: Option<String>,
    verified: Option<bool>,
    dataset: Option<String>,
) -> CommandResult<Vec<data::EpisodeSummary>> {
    data::list_episodes(
        &state.config()?,
        source.as_deref(),
        verified,
        dataset.as_deref(),
    )
}

#[tauri::command(rename_all = "snake_case")]
async fn get_episode(state: State<'_, AppState>, episode_id: String) -> CommandResult<Episode> {
    data::get_episode(&state.config()?, &episode_id)
}

#[tauri::command(rename_all = "snake_case")]
async fn run_preflight(
    state: State<'_, AppState>,
    request: RunRequest,
) -> CommandResult<Preflight> {
    run::preflight(&state.config()?, &state.run, &request)
}

#[tauri::command(rename_all = "snake_case")]
async fn run_plan(state: State<'_, AppState>, request: RunRequest) -> CommandResult<DryRunPlan> {
    run::plan(&state.config()?, &request)
}

#[tauri::command(rename_all = "snake_case")]
async fn start_run(
    state: State<'_, AppState>,
    request: RunRequest,
    on_event: Channel<Event>,
) -> CommandResult<RunResult> {
    let config = state.config()?;
    let slot = state.run.clone();
    // The SDK's run future is not provably `Send` for every lifetime (a compiler limitation
    // with higher-ranked closures), so it runs on a blocking thread of the same runtime.
    tauri::async_runtime::spawn_blocking(move || {
        tauri::async_runtime::block_on(run::start_run(&config, &slot, &request, move |e| {
            let _ = on_event.send(e);
        }))
    })
    .await
    .map_err(|e| CommandError::new(ErrorCode::Io, format!("run task failed: {e}")))?
}

#[tauri::command(rename_all = "snake_case")]
async fn stop_run(state: State<'_, AppState>) -> CommandResult<StopOutcome> {
    Ok(state.run.stop().await)
}

#[tauri::command(rename_all = "snake_case")]
async fn system_status(state: State<'_, AppState>) -> CommandResult<SystemStatus> {
    system::system_status(&state.config()?, state.run.active_run_id()).await
}

#[tauri::command(rename_all = "snake_case")]
async fn build_image(
    state: State<'_, AppState>,
    on_event: Channel<Event>,
) -> CommandResult<ImageInfo> {
    let config = state.config()?;
    let (events, mut rx) = EventSink::channel(256);
    let forwarder = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let _ = on_event.send(e);
        }
    });
    let result = system::build_sandbox_image(&config, &events).await;
    drop(events);
    let _ = forwarder.await;
    result
}

#[tauri::command(rename_all = "snake_case")]
async fn prune_orphans(state: State<'_, AppState>) -> CommandResult<PruneReport> {
    system::prune_orphans(&state.config()?).await
}

#[tauri::command(rename_all = "snake_case")]
async fn token_status() -> CommandResult<TokenSource> {
    Ok(system::hub_token_status())
}

#[tauri::command(rename_all = "snake_case")]
async fn publish_preview(
    state: State<'_, AppState>,
    request: PublishRequest,
) -> CommandResult<StagedUpload> {
    system::publish_preview(&state.config()?, &request).await
}

#[tauri::command(rename_all = "snake_case")]
async fn publish(
    state: State<'_, AppState>,
    request: PublishRequest,
    on_event: Channel<Event>,
) -> CommandResult<UploadOutcome> {
    system::publish(&state.config()?, &request, move |e| {
        let _ = on_event.send(e);
    })
    .await
}

/// Registers the app state over `config` and every command on `builder` (the real runtime in
/// [`run`], the mock runtime in tests).
pub fn app<R: Runtime>(builder: Builder<R>, config: AppConfig) -> Builder<R> {
    builder
        .manage(AppState::new(config))
        .invoke_handler(tauri::generate_handler![
            get_config,
            set_config,
            list_datasets,
            profile_dataset,
            list_questions,
            list_episodes,
            get_episode,
            run_preflight,
            run_plan,
            start_run,
            stop_run,
            system_status,
            build_image,
            prune_orphans,
            token_status,
            publish_preview,
            publish,
        ])
}

/// Runs the desktop app with the configuration from the environment ([`AppConfig::from_env`]).
///
/// The app ends the same way whether its window is closed or the process gets `SIGINT`
/// (Ctrl-C in the terminal that started it) or `SIGTERM` (a logout, `kill`): an active run is
/// cancelled and given [`EXIT_GRACE`] to end on its own (records whole, containers stopped, run
/// lock released); if it has not, its containers are stopped at once, as a second Stop does.
/// A second signal while the app is ending stops the containers at once.
///
/// # Errors
/// The Tauri error when the window cannot be created.
pub fn run() -> Result<(), tauri::Error> {
    let app =
        app(tauri::Builder::default(), AppConfig::from_env()).build(tauri::generate_context!())?;
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        let Some(mut signals) = csvagent_sdk::pipeline::StopSignals::install_or_warn() else {
            return;
        };
        let first = signals.next().await;
        tracing::warn!("{first}: ending the app");
        handle.exit(0);
        let second = signals.next().await;
        tracing::warn!("{second} again: stopping the run's containers at once");
        use tauri::Manager;
        handle.state::<AppState>().run.stop().await;
    });
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            use tauri::Manager;
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(state.run.stop_for_exit(EXIT_GRACE));
        }
    });
    Ok(())
}

/// How long an active run may take to end cooperatively when the app exits before its
/// containers are stopped at once: 5 s.
pub const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
