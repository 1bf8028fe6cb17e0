namespace DeepPerception.Client;

// The HTTP API's wire contracts (JSON, camelCase). Shared by the server and this client; plain records without
// dependencies so that any .NET program can use them.

/// <summary>Who the presented API key belongs to.</summary>
/// <param name="TenantId">The key's tenant.</param>
/// <param name="Role">"member", "admin" or "platform-admin".</param>
/// <param name="KeyId">The key id.</param>
public sealed record WhoAmI(string TenantId, string Role, string KeyId);

/// <summary>A tenant with its quotas.</summary>
public sealed record TenantDto(
    string TenantId,
    string DisplayName,
    DateTimeOffset CreatedAt,
    double GpuSecondsBudget,
    double GpuSecondsCharged,
    double RemainingGpuSeconds,
    int RequestsPerMinute,
    int MemberCount);

/// <summary>Request to create a tenant (platform admins).</summary>
/// <param name="TenantId">1–63 lowercase letters, digits and '-'.</param>
/// <param name="DisplayName">A display name.</param>
/// <param name="AdminUserId">The tenant's first admin user.</param>
/// <param name="GpuSecondsBudget">The GPU-seconds budget (default 3600).</param>
/// <param name="RequestsPerMinute">The request rate (default 600).</param>
public sealed record CreateTenantBody(string TenantId, string DisplayName, string AdminUserId, double? GpuSecondsBudget = null, int? RequestsPerMinute = null);

/// <summary>A tenant's quotas (platform admins).</summary>
public sealed record SetBudgetBody(double GpuSecondsBudget, int RequestsPerMinute);

/// <summary>A tenant member.</summary>
/// <param name="UserId">The user.</param>
/// <param name="Role">"member" or "admin".</param>
/// <param name="AddedAt">When the member was added.</param>
public sealed record MemberDto(string UserId, string Role, DateTimeOffset AddedAt);

/// <summary>Adds a member or changes a role.</summary>
public sealed record SetMemberBody(string Role);

/// <summary>An API key's public description.</summary>
public sealed record ApiKeyDto(string KeyId, string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A new API key; <see cref="Secret"/> is shown only this once.</summary>
public sealed record IssuedApiKeyDto(ApiKeyDto Key, string Secret);

/// <summary>Request to issue an API key.</summary>
/// <param name="Name">A label.</param>
/// <param name="Role">"member" (default) or "admin".</param>
public sealed record CreateApiKeyBody(string Name, string? Role = null);

/// <summary>One finding of a dataset validation.</summary>
public sealed record ValidationIssueDto(bool IsError, string Code, string Message, string? SampleId);

/// <summary>The validation report of a dataset version.</summary>
public sealed record ValidationReportDto(int CheckedSamples, bool Valid, IReadOnlyList<ValidationIssueDto> Issues, DateTimeOffset ValidatedAt);

/// <summary>A dataset version.</summary>
public sealed record DatasetVersionDto(
    int Version,
    int SampleCount,
    string? Description,
    DateTimeOffset CreatedAt,
    bool Locked,
    IReadOnlyList<string> UsedBy,
    ValidationReportDto? Validation);

/// <summary>A dataset.</summary>
public sealed record DatasetDto(
    string DatasetId,
    string DisplayName,
    string? Description,
    DateTimeOffset CreatedAt,
    IReadOnlyList<DatasetVersionDto> Versions,
    int KnowledgeEntryCount);

/// <summary>Request to create a dataset.</summary>
public sealed record CreateDatasetBody(string DatasetId, string DisplayName, string? Description = null);

/// <summary>A record of an upload that was not accepted, and why.</summary>
/// <param name="Source">The annotation file.</param>
/// <param name="Line">The 1-based line (JSONL) or record index (JSON arrays); 0 when not tied to a record.</param>
/// <param name="RecordId">The record's id when it has one.</param>
/// <param name="Reasons">Every reason.</param>
public sealed record RejectedRecordDto(string Source, int Line, string? RecordId, IReadOnlyList<string> Reasons);

/// <summary>The result of a dataset upload.</summary>
/// <param name="Version">The new version (null when nothing was accepted).</param>
/// <param name="Format">The annotation format read.</param>
/// <param name="Received">Records read.</param>
/// <param name="Accepted">Records stored.</param>
/// <param name="Rejected">Every rejected record with its reasons.</param>
/// <param name="Warnings">Findings not tied to a record (knowledge base, files).</param>
public sealed record DatasetUploadResult(
    DatasetVersionDto? Version,
    string Format,
    int Received,
    int Accepted,
    IReadOnlyList<RejectedRecordDto> Rejected,
    IReadOnlyList<string> Warnings);

/// <summary>An entity of a dataset's knowledge base.</summary>
public sealed record KnowledgeEntryDto(string EntityId, string Name, string Description, IReadOnlyList<string>? Aliases = null);

/// <summary>
/// A training recipe. Unset values take the documented defaults (the paper's, scaled to the platform): stages
/// <c>sft</c>; adapter <c>lora</c> rank 16; max steps 100; SFT learning rate 5e-6 (GRPO 1e-6); batch size 16 (SFT examples)
/// or 16 prompts (GRPO); checkpoint every 50 steps; seed 0; GRPO 4 generations at temperature 1, β 0.04, 512 completion
/// tokens; max_pixels 401408.
/// </summary>
/// <param name="Stages">"sft", "grpo" or "sft+grpo".</param>
/// <param name="Adapter">"lora" or "full".</param>
/// <param name="LoraRank">LoRA rank (1–256).</param>
/// <param name="MaxSteps">Optimizer steps (1–100000).</param>
/// <param name="LearningRate">Learning rate in (0, 0.1].</param>
/// <param name="BatchSize">Batch size (1–1024).</param>
/// <param name="CheckpointEvery">Checkpoint period in steps (0 = none).</param>
/// <param name="Seed">Seed.</param>
/// <param name="Settings">Further engine settings (generations, temperature, beta, max_completion_length, grpo_steps,
/// grpo_learning_rate, target, lora_alpha, lora_dropout, train_vision, group_by_length, grad_accum, warmup_ratio,
/// weight_decay, max_grad_norm, epochs, max_pixels, composites, composite_max_canvas).</param>
public sealed record RecipeBody(
    string? Stages = null,
    string? Adapter = null,
    int? LoraRank = null,
    int? MaxSteps = null,
    double? LearningRate = null,
    int? BatchSize = null,
    int? CheckpointEvery = null,
    int? Seed = null,
    IReadOnlyDictionary<string, string>? Settings = null);

/// <summary>A recipe as the platform runs it (defaults filled in).</summary>
public sealed record RecipeDto(string Method, int MaxSteps, double LearningRate, int BatchSize, int CheckpointEvery, int Seed,
    IReadOnlyDictionary<string, string> Settings);

/// <summary>Request to start a fine-tuning job.</summary>
/// <param name="ModelId">The model to fine-tune.</param>
/// <param name="DatasetId">The dataset.</param>
/// <param name="DatasetVersion">The dataset version (frozen by the job).</param>
/// <param name="Recipe">The recipe (defaults when null).</param>
/// <param name="ParentVersion">The model version to start from (null: the base checkpoint).</param>
/// <param name="JobId">The job id (generated when null).</param>
/// <param name="EstimatedGpuSeconds">GPU seconds reserved up front (estimated from the recipe when null).</param>
public sealed record CreateFineTuneBody(
    string ModelId,
    string DatasetId,
    int DatasetVersion,
    RecipeBody? Recipe = null,
    int? ParentVersion = null,
    string? JobId = null,
    double? EstimatedGpuSeconds = null);

/// <summary>A progress snapshot.</summary>
public sealed record ProgressDto(int Step, int TotalSteps, IReadOnlyDictionary<string, double> Metrics, string? Message, bool Checkpoint);

/// <summary>A fine-tuning job.</summary>
public sealed record FineTuneJobDto(
    string JobId,
    string State,
    string Phase,
    int Attempt,
    string StatusMessage,
    ProgressDto? Progress,
    int? ResultModelVersion,
    IReadOnlyDictionary<string, double>? FinalMetrics,
    string? Error,
    DateTimeOffset SubmittedAt,
    DateTimeOffset UpdatedAt,
    string ModelId,
    int? ParentVersion,
    string DatasetId,
    int DatasetVersion,
    RecipeDto Recipe,
    double EstimatedGpuSeconds);

/// <summary>A job's metric history (the recent progress snapshots, oldest first).</summary>
public sealed record JobMetricsDto(string JobId, IReadOnlyList<ProgressDto> Points, IReadOnlyDictionary<string, double>? FinalMetrics);

/// <summary>
/// GRPO rollouts of a job: the snapshots of its GRPO stage (rewards, KL, completion lengths) and, newest step first,
/// the individual rollouts of its most recent steps (empty until a GRPO stage has run).
/// </summary>
public sealed record RolloutsDto(string JobId, IReadOnlyList<ProgressDto> Samples, IReadOnlyList<RolloutSampleDto>? Rollouts = null);

/// <summary>One GRPO rollout: a completion of one prompt with its rewards, the box parsed from it and the true box.</summary>
/// <param name="Step">The GRPO stage's step.</param>
/// <param name="PromptId">The prompt's sample id.</param>
/// <param name="Index">The completion's index within its group.</param>
/// <param name="Entity">The entity the prompt asks for.</param>
/// <param name="Completion">The decoded completion.</param>
/// <param name="Rewards">The reward of each reward function (accuracy = IoU reward, format).</param>
/// <param name="Total">The summed reward.</param>
/// <param name="Advantage">The group-normalised advantage.</param>
/// <param name="Length">Completion length in tokens.</param>
/// <param name="Predicted">The box parsed from the completion on the 0–1000 grid, or null when none parsed.</param>
/// <param name="True">The ground-truth box on the 0–1000 grid.</param>
/// <param name="ImageUrl">The API path of the prompt's PNG image.</param>
public sealed record RolloutSampleDto(int Step, string PromptId, int Index, string Entity, string Completion,
    IReadOnlyDictionary<string, double> Rewards, double Total, double Advantage, int Length, BoxDto? Predicted, BoxDto True, string ImageUrl);

/// <summary>Why a job is cancelled.</summary>
public sealed record CancelBody(string? Reason = null);

/// <summary>Where a model version came from.</summary>
public sealed record LineageDto(string BaseModel, string? DatasetId, int? DatasetVersion, int? ParentVersion, string? JobId, RecipeDto? Recipe);

/// <summary>A model version.</summary>
public sealed record ModelVersionDto(int Version, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, double> Metrics, LineageDto Lineage);

/// <summary>A model.</summary>
public sealed record ModelDto(
    string ModelId,
    string DisplayName,
    string BaseModel,
    DateTimeOffset CreatedAt,
    int? ActiveVersion,
    IReadOnlyList<ModelVersionDto> Versions);

/// <summary>A version's lineage: the version, then its parent, and so on back to the base checkpoint.</summary>
public sealed record LineageChainDto(string ModelId, int Version, string BaseModel, IReadOnlyList<ModelVersionDto> Chain);

/// <summary>Request to promote a version.</summary>
public sealed record PromoteBody(int Version);

/// <summary>Request to create a model from another model's base checkpoint of the same tenant.</summary>
/// <param name="ModelId">The new model id.</param>
/// <param name="DisplayName">Its display name.</param>
/// <param name="FromModelId">An existing model of the tenant whose base checkpoint (or version) to start from.</param>
/// <param name="FromVersion">That model's version (null: its base checkpoint).</param>
public sealed record CreateModelBody(string ModelId, string DisplayName, string FromModelId, int? FromVersion = null);

/// <summary>
/// Request to evaluate a model version. Sources: <c>kvg-synth</c> (a generated KVG-Synth test split), <c>dataset</c> (a
/// dataset version of the tenant), <c>benchmark</c> (an uploaded KVG-Bench parquet).
/// </summary>
public sealed record CreateEvaluationBody(
    string ModelId,
    int ModelVersion,
    string Source,
    string? DatasetId = null,
    int? DatasetVersion = null,
    string? BenchmarkId = null,
    int? TestCount = null,
    int? WorldSeed = null,
    int? SplitSeed = null,
    int? Limit = null,
    int? MaxNewTokens = null,
    string? Prompt = null,
    string? RunId = null,
    double? EstimatedGpuSeconds = null);

/// <summary>An evaluation run.</summary>
public sealed record EvaluationDto(
    string RunId,
    string State,
    int Attempt,
    string ModelId,
    int ModelVersion,
    string Source,
    string StatusMessage,
    ProgressDto? Progress,
    IReadOnlyDictionary<string, double>? Metrics,
    string? Error,
    bool HasReport,
    DateTimeOffset SubmittedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Accuracy and IoU of a group.</summary>
public sealed record ScoreDto(string Name, int Count, int Correct, double Accuracy, double MeanIou, int ParseFailures);

/// <summary>
/// Per-domain outcome counts: rows are domains; columns correct (IoU ≥ 0.5), wrong box, no box (the answer had no
/// parsable box). <paramref name="Entities"/> adds the entity × entity confusion matrix of each domain.
/// </summary>
/// <param name="Columns">correct, wrong_box, no_box.</param>
/// <param name="Rows">Domain → counts in <paramref name="Columns"/> order.</param>
/// <param name="Entities">The entity × entity matrices, one per domain (null in reports written before they existed).</param>
public sealed record ConfusionDto(IReadOnlyList<string> Columns, IReadOnlyDictionary<string, IReadOnlyList<int>> Rows,
    IReadOnlyList<EntityConfusionDto>? Entities = null);

/// <summary>
/// Which sibling got the box, for one domain: rows are true (target) entities, columns the entity the predicted box
/// landed on (IoU ≥ 0.5; the target whenever the answer is correct, so the diagonal holds the correct counts), then
/// <c>other</c> (a wrong box not attributable to a shown entity: the image's other objects are unknown, it lies on another
/// instance of the same entity, or on an entity folded into the bucket) and <c>none</c> (no box, or on no known object).
/// At most the top entities by errors are shown; the rest are folded into the <c>other entities</c> row and column.
/// </summary>
/// <param name="Domain">The domain (category).</param>
/// <param name="Rows">True entities (and the bucket last, when some were folded).</param>
/// <param name="Columns"><paramref name="Rows"/>, then other, then none.</param>
/// <param name="Counts">Counts[row][column].</param>
/// <param name="Items">Items of the domain (the sum of all cells).</param>
/// <param name="Correct">Correct items (the sum of the diagonal).</param>
/// <param name="FoldedEntities">Entities folded into the bucket.</param>
/// <param name="AllObjectsKnown">True when every item's image lists all its objects, so a confusion can name the sibling.</param>
public sealed record EntityConfusionDto(string Domain, IReadOnlyList<string> Rows, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<int>> Counts,
    int Items, int Correct, int FoldedEntities, bool AllObjectsKnown);

/// <summary>A wrong answer for the error gallery.</summary>
/// <param name="QuestionId">The item.</param>
/// <param name="Category">Its domain.</param>
/// <param name="Entity">The target entity.</param>
/// <param name="Text">The model's answer.</param>
/// <param name="Iou">IoU with the ground truth.</param>
/// <param name="Kind">wrong_box or no_box.</param>
/// <param name="Matched">What the box landed on: a sibling entity, other or none (null in older reports).</param>
public sealed record ErrorItemDto(string QuestionId, string Category, string? Entity, string Text, double Iou, string Kind, string? Matched = null);

/// <summary>The report of a succeeded evaluation.</summary>
public sealed record EvaluationReportDto(
    string RunId,
    IReadOnlyDictionary<string, double> Metrics,
    ScoreDto Overall,
    ScoreDto? Seen,
    ScoreDto? Unseen,
    IReadOnlyList<ScoreDto> PerDomain,
    ConfusionDto Confusion,
    IReadOnlyList<ErrorItemDto> ErrorGallery);

/// <summary>An uploaded KVG-Bench parquet.</summary>
public sealed record BenchmarkDto(string BenchmarkId, int Items, string Sha256, IReadOnlyList<string> Categories, DateTimeOffset UploadedAt);

/// <summary>A leaderboard's pinned harness.</summary>
public sealed record HarnessDto(string HarnessId, string Version, string PrimaryMetric, IReadOnlyDictionary<string, string> Settings, string BenchmarkSha256);

/// <summary>A leaderboard row (always backed by a platform-run evaluation).</summary>
public sealed record LeaderboardEntryDto(int Rank, string ModelId, int ModelVersion, double Score, IReadOnlyDictionary<string, double> Metrics, string RunId, DateTimeOffset RecordedAt);

/// <summary>A leaderboard.</summary>
public sealed record LeaderboardDto(string TenantId, string BoardId, HarnessDto? Harness, IReadOnlyList<LeaderboardEntryDto> Entries);

/// <summary>
/// Request to create a leaderboard pinned to a harness; the source fields are those of <see cref="CreateEvaluationBody"/>
/// (<c>kvg-synth</c> or <c>benchmark</c>).
/// </summary>
public sealed record CreateLeaderboardBody(string BoardId, string Source, string? BenchmarkId = null, int? TestCount = null,
    int? WorldSeed = null, int? SplitSeed = null, int? Limit = null, int? MaxNewTokens = null, string? Prompt = null,
    string? PrimaryMetric = null);

/// <summary>Request to submit a model version to a leaderboard (scored by the platform).</summary>
public sealed record SubmitToLeaderboardBody(string ModelId, int ModelVersion);

/// <summary>A leaderboard submission: its evaluation run and, once it succeeded, its entry.</summary>
public sealed record SubmissionDto(string BoardId, EvaluationDto Run, LeaderboardEntryDto? Entry);

/// <summary>A box in pixels of the original image (or on the model grid): top-left and bottom-right corners.</summary>
public sealed record BoxDto(double X1, double Y1, double X2, double Y2);

/// <summary>Where the time of a ground request went (milliseconds).</summary>
public sealed record GroundTimingsDto(double QueueMs, double PreprocessMs, double PrefillMs, double DecodeMs, double ModelMs, double TotalMs,
    int BatchSize, double ServerMs);

/// <summary>
/// A ground request as JSON. The image is base64 (PNG, JPEG, GIF, WebP); the same fields can be sent as
/// multipart/form-data with the image as a file part named <c>image</c>.
/// </summary>
public sealed record GroundBody(
    string Model,
    string Query,
    string? ImageBase64 = null,
    int? Version = null,
    int? MaxNewTokens = null,
    double? Temperature = null,
    double? TopP = null,
    int? TopK = null,
    long? Seed = null,
    string? Prompt = null);

/// <summary>The answer to a ground request.</summary>
public sealed record GroundResultDto(
    string RequestId,
    string Model,
    int? Version,
    int ImageWidth,
    int ImageHeight,
    BoxDto? Box,
    BoxDto? ModelBox,
    string BoxConvention,
    string Text,
    string? Reasoning,
    string ParseStatus,
    int PromptTokens,
    int GeneratedTokens,
    string FinishReason,
    double GpuSeconds,
    GroundTimingsDto Timings);

/// <summary>A GPU silo.</summary>
public sealed record SiloDto(string SiloId, string Name, string Device, long DeviceMemoryBytes, int MaxConcurrentWork, bool Active,
    bool Cordoned, bool Draining, bool AcceptsWork, IReadOnlyList<string> RunningWork, DateTimeOffset RegisteredAt);

/// <summary>Where a piece of work is in the scheduler.</summary>
public sealed record PlacementDto(string WorkKey, string State, string Priority, int? QueuePosition, string? SiloId, string Reason);

/// <summary>The scheduler's queue.</summary>
public sealed record QueueDto(IReadOnlyList<PlacementDto> Queued, IReadOnlyList<PlacementDto> Running, int AcceptingGpuSilos, string Summary);

/// <summary>A list with its items.</summary>
public sealed record ListDto<T>(IReadOnlyList<T> Items);
