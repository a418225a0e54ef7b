"""MLflow models: the pyfunc wrapper, and loading a registered model (aliases, versions, what the registry has when
the one asked for is not there, what a training killed mid-way left).

Nothing here runs at import. The tracking store (local sqlite under `mlruns/` or a server: its URI, checks, the
experiment) is `pipelines.tracking_store`'s; a training's run (logging, registering, the promotion record)
`pipelines.tracking_runs`'s; the team page's model card `pipelines.tracking_card`'s.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features.errors import printable
from features.validation import StructuralError
from pipelines.tracking_store import server_failure

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Tags of a training's run: the host and process running it (a RUNNING run of a process gone was killed).
RUN_HOST, RUN_PID = "cvp.host", "cvp.pid"
#: Version tag of a version registered by a training that died before its promotion was decided: never champion.
STATUS_TAG, INCOMPLETE = "cvp.status", "incomplete"
#: `cvp models`' status of a version whose training run is deleted in MLflow (`training_run`): still scored, said.
RUN_DELETED = "run deleted"


def run_of_uri(uri: str) -> str | None:
    """The MLflow run a model URI names (`runs:/<run id>/<artefact path>`), else None: the one parse of a run's URI,
    for `load_bundle` (a failed training's model refused) and the score history (a run that recorded the URI as its
    model version is that training run's model: `pipelines.history_store`)."""
    found = re.fullmatch(r"runs:/([^/]+)(?:/.*)?", uri.strip())
    return None if found is None else found.group(1)


def _pyfunc_class() -> type:
    from pipelines.mlflow_import import mlflow

    class CustomerValuePyfunc(mlflow.pyfunc.PythonModel):
        """Wraps the fitted `models.bundle.CustomerValueModel`: feature table in, predictions out.

        MLflow passes category columns as strings; the bundle rebuilds the training categories itself.
        """

        def __init__(self, bundle: Any) -> None:
            self.bundle = bundle

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict | None = None
        ) -> pd.DataFrame:
            return self.bundle.predict(model_input)

    return CustomerValuePyfunc


def pyfunc_for(bundle: Any) -> Any:
    return _pyfunc_class()(bundle)


#: The param a training by `cvp demo` logs (`DEMO_PARAM: DEMO_TRAINER`): its model is the built-in demo company's.
DEMO_PARAM, DEMO_TRAINER = "trained_by", "cvp demo"


def trained_by_demo(params: dict[str, str]) -> bool:
    """Whether a training run's `params` say `cvp demo` trained its model (`DEMO_PARAM`)."""
    return params.get(DEMO_PARAM) == DEMO_TRAINER


def demo_model_note(params: dict[str, str]) -> str | None:
    """What every `cvp score` but `cvp demo`'s warns of a model `cvp demo` trained (its run's `DEMO_PARAM`), None
    for another: the manifest's `model_warnings`, on the model card (was: `cvp train` over a demo's champion kept
    the user's model challenger, and `cvp score` of the real customers used the demo company's model, exit 0)."""
    if not trained_by_demo(params):
        return None
    return (
        "the model was trained by `cvp demo` on the built-in demo company's data, not on yours: train on your data "
        "(`cvp train`) and make that model champion (`cvp models promote VERSION`)"
    )


@dataclass(frozen=True)
class LoadedModel:
    bundle: Any
    uri: str
    version: str | None
    run_id: str | None = None  # the MLflow run that logged the model (its model card lives there)
    #: `sample_note` of its training run: fitted on a sample of the customers (`cvp train --sample-customers`)
    training_sample: str | None = None
    #: `run_deleted_note` of its training run (None: the run is there, or the store could not say)
    run_deleted: str | None = None
    #: `demo_model_note` of its training run: a model `cvp demo` trained (None: another, or not known)
    trained_by_demo: str | None = None


def sample_note(params: dict[str, str]) -> str | None:
    """What a training run's params say of its customer sample (`cvp train --sample-customers`), None without
    one: the model card's `training_sample` and the scores manifest's `model_sample`."""
    if "sample_customers" not in params:
        return None
    return (
        f"{params['sample_customers']} of {params.get('base_customers', '?')} customers, keyed hash sample (key "
        f"{params.get('sample_key', '?')}); company values from the whole base"
    )


def training_run(client: Any, run_id: str) -> tuple[Any, bool]:
    """The training run `run_id` (None when gone) and whether it is deleted: in MLflow's trash (the UI's delete,
    `mlflow.delete_run`) or gone for good (`mlflow gc`). Its model's files stay whole and score, but its params,
    backtest metrics and model card are gone or go at the next `mlflow gc`. Other store errors are raised."""
    from pipelines.mlflow_import import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None, True
    return run, run.info.lifecycle_stage == "deleted"


def run_deleted_note(run_id: str, run: Any) -> str:
    """What `cvp score` and the model card say of a model whose training run is deleted (`training_run`)."""
    if run is None:
        return (
            f"the model's training run {run_id} is gone from the tracking store (deleted, then `mlflow gc`): its "
            "backtest metrics and model card are lost, its files still score. Train again (`cvp train`) to have "
            "a model with its record"
        )
    return (
        f"the model's training run {run_id} is deleted in MLflow (in its trash): the next `mlflow gc` removes its "
        "backtest metrics and model card; its files still score. Restore it with `mlflow runs restore --run-id "
        f"{run_id}`, or train again"
    )


def _training_facts(run_id: str | None, known: Any = None) -> tuple[str | None, str | None, str | None]:
    """`sample_note`, `run_deleted_note`, `demo_model_note` of the training run `run_id` (Nones without a run or when the
    store cannot give it: the model card then says the run is unreadable). `known`: that run as the store gave it
    already (`runs:/<id>/model`: was asked for twice)."""
    from pipelines.mlflow_import import MlflowException, mlflow

    if not run_id:
        return None, None, None
    if known is not None and known.info.run_id == run_id:
        run, deleted = known, known.info.lifecycle_stage == "deleted"
    else:
        try:
            run, deleted = training_run(mlflow.MlflowClient(), run_id)
        except MlflowException:
            return None, None, None
    sample = None if run is None else sample_note(run.data.params)
    demo = None if run is None else demo_model_note(run.data.params)
    return sample, run_deleted_note(run_id, run) if deleted else None, demo


def load_bundle(uri: str, registered: str | None = None) -> LoadedModel:
    """Load a registered model (e.g. `models:/customer-value@champion`) and return the bundle inside it.

    A missing or corrupt model is a clear error, not a traceback. A model named otherwise than by its registered
    version or alias (`runs:/<run id>/model`, `models:/<name>/3/`, a logged model's URI or folder) gets the
    version its training run registered under the URI's registered model or `registered` (`version_of_run`):
    one model, one version and run id whatever names it (was: the URI as its version, so another run id for the
    same data and model, a score history seeing a model change and bridging a model with itself, the model card
    "Version runs:/..." for the champion).
    """
    from pipelines.mlflow_import import MlflowException, mlflow
    from pipelines.store_errors import store_failure

    version: str | None = None
    pinned: str | None = None
    run = None  # the training run, when the URI names it (`runs:/<id>/model`)
    try:
        if uri.startswith("models:/") and "@" in uri:
            name, alias = uri.removeprefix("models:/").split("@", 1)
            version = str(mlflow.MlflowClient().get_model_version_by_alias(name, alias).version)
            # the version resolved is the one loaded: an alias moved meanwhile (a `cvp train --promote` finishing
            # while this run starts) must not give one version's model under another's number (was: the alias
            # resolved twice, the manifest naming the version of the first look-up beside the second's model)
            pinned = f"models:/{name}/{version}"
        elif uri.startswith("models:/") and uri.count("/") == 2:
            name, number = uri.removeprefix("models:/").split("/")
            sweep_interrupted(name)
            found = mlflow.MlflowClient().get_model_version(name, number)  # raises if unknown
            version = str(found.version)
            _refuse_incomplete(uri, found)
        elif run_of_uri(uri):  # a training's run by id: one that failed never decided its promotion
            try:
                run = mlflow.MlflowClient().get_run(run_of_uri(uri))
            except MlflowException:  # not found or not allowed: the load itself says what is wrong
                run = None
            if run is not None and run.info.status in ("FAILED", "KILLED") and RUN_PID in run.data.tags:
                raise StructuralError(
                    f"model {uri} is from a `cvp train` run that {run.info.status.lower()} before its model was "
                    "registered and promoted (was: loaded and scored as any model). Give a registered version "
                    "(`cvp models`), or train again with `cvp train`"
                )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # MLflow's load-time notes (dependency and Python version mismatches) go to its logger, which
            # `configure_tracking` sets to errors only: never shown, yet the dependency check scans every installed
            # distribution's files first (0.2-0.4 s of each load, issue 14). Skipped, since nothing reads it.
            model = mlflow.pyfunc.load_model(pinned or uri, suppress_warnings=True)
    except StructuralError:
        raise
    except MlflowException as exc:
        failed = server_failure(exc) or store_failure(exc)
        if failed is not None:  # was: "Train one first", the URL with the URI's password printed
            raise failed from exc
        first = exc.message.splitlines()[0]
        if version is not None:  # the registry knows it: its files are what is missing (moved, deleted)
            raise UnreadableModel(
                f"model {uri} is registered (version {version}) but its files cannot be read ({first}): the "
                "tracking store's artefacts were moved or deleted? Restore them, or train again with `cvp train`",
                f"its files cannot be read: {first}",
            ) from exc
        offer = _registry_offer(uri)
        if offer:  # the registered model exists, not this alias or version (was: "Train one first")
            raise StructuralError(f"cannot load model {uri}: {offer}") from exc
        if ":/" not in uri:  # `--model 3`, `--model champion`: not a model URI
            raise StructuralError(
                f"--model {uri} is not a model URI: give models:/<name>/<version>, models:/<name>@<alias> "
                "(default models:/customer-value@champion) or runs:/<run id>/model"
            ) from exc
        raise StructuralError(
            f"cannot load model {uri}: {first.rstrip('.')}. Train one first with `cvp train`."
        ) from exc
    except Exception as exc:  # a corrupt artefact surfaces as pickle/OS errors of many kinds
        if store_failure(exc) is not None:  # a whole model in a locked store (was: "corrupt or incompatible")
            raise store_failure(exc) from exc
        raise UnreadableModel(
            f"model {uri} could not be loaded (corrupt or incompatible): {exc}",
            f"corrupt or incompatible: {exc}",
        ) from exc
    try:
        python_model = model.unwrap_python_model()
    except MlflowException:  # another flavour (a scikit-learn model): no Python model inside
        python_model = None
    run_id = getattr(model.metadata, "run_id", None)
    bundle = getattr(python_model, "bundle", None)
    if bundle is None:
        flavors = ", ".join(sorted(getattr(model.metadata, "flavors", None) or {})) or "unknown"
        raise StructuralError(f"model {uri} is not a customer-value model (its flavours: {flavors})")
    if version is None and run_id:  # named by its run or files: the version its run registered, if any
        found = version_of_run(run_id, registered_name(uri), registered)
        if found is not None:
            _refuse_incomplete(uri, found)
            version = str(found.version)
    sample, deleted, demo = _training_facts(run_id, run)
    return LoadedModel(bundle, uri, version, run_id, sample, deleted, demo)


def _refuse_incomplete(uri: str, found: Any) -> None:
    """Refuse the registered model version `found` when a training died before deciding its promotion."""
    if found.tags.get(STATUS_TAG) == INCOMPLETE:
        raise StructuralError(
            f"model {uri} is incomplete: the training that registered it died before its promotion was "
            f"decided (version tag {STATUS_TAG}={INCOMPLETE}, its run FAILED). Give another version, or "
            "train again with `cvp train`"
        )


def version_of_run(run_id: str, *names: str | None) -> Any:
    """The registered model version (MLflow's `ModelVersion`) that training run `run_id` registered under the
    first of `names` holding one; None when none does (a run never registered, another registry) or the registry
    cannot say (not judged: the model keeps the URI naming it). One training registers one version; a run
    registered twice by hand under one name is ambiguous: None too."""
    from pipelines.mlflow_import import MlflowException, mlflow

    for name in dict.fromkeys(n for n in names if n):
        try:
            found = mlflow.MlflowClient().search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        except MlflowException:
            return None
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _registry_offer(uri: str) -> str | None:
    """For `models:/<name>@<alias>` or `models:/<name>/<version>` naming an alias or version the registered model
    does not have (a challenger never trained, a deleted version): what it has, to choose from; None when the
    registered model itself is unknown or the URI is of another form."""
    from pipelines.mlflow_import import MlflowException, mlflow

    name = registered_name(uri)
    if name is None:
        return None
    client = mlflow.MlflowClient()
    try:
        sweep_interrupted(name)
        aliases = client.get_registered_model(name).aliases
        found = client.search_model_versions(f"name = '{name}'")
        versions = sorted(int(v.version) for v in found)
        broken = sorted(int(v.version) for v in found if v.tags.get(STATUS_TAG) == INCOMPLETE)
    except (MlflowException, ValueError):
        return None
    said = ", ".join(f"@{a} (version {v})" for a, v in sorted(aliases.items())) or "no alias"
    if broken:  # listed as what they are (a training killed before promoting them)
        said += f"; incomplete (its training died before promoting it): {', '.join(map(str, broken))}"
    return (
        f"the registered model {name!r} has versions {', '.join(map(str, versions)) or 'none'} and {said}; "
        f"give one of them (models:/{name}/<version> or models:/{name}@<alias>)"
    )


def sweep_interrupted(name: str, experiment_id: str | None = None) -> list[str]:
    """What a `cvp train` killed mid-way (SIGKILL, a machine reset) left, made honest; one note per thing done.

    Its run, left RUNNING, is marked FAILED when it ran on this host and its process is gone (`staging.alive`);
    the version it registered without an alias or a `promotion` tag (killed between registering the model and
    setting its alias) is tagged `cvp.status=incomplete`: listings and `--model` say so, and no training moves an
    alias to it (was: an untagged version beside the others, its run RUNNING for ever). Runs of other hosts, of
    live processes and of tools other than `cvp train` (no `cvp.pid` tag) are left alone."""
    from pipelines.mlflow_import import MlflowException, mlflow
    from pipelines.staging import alive, host

    client = mlflow.MlflowClient()
    notes: list[str] = []

    def dead(run: Any) -> bool:
        tags = run.data.tags
        if run.info.status != "RUNNING" or RUN_PID not in tags or tags.get(RUN_HOST) != host():
            return False
        return tags[RUN_PID].isdigit() and not alive(int(tags[RUN_PID]))

    try:
        if experiment_id is not None:
            for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=1000):
                if dead(run):
                    client.set_terminated(run.info.run_id, "FAILED")
                    notes.append(f"run {run.info.run_id} of a training killed on this host marked FAILED")
        versions = client.search_model_versions(f"name = '{name}'")
        if versions:  # a version an alias points at was promoted (its tag may be what the kill cut off)
            aliased = {str(v) for v in client.get_registered_model(name).aliases.values()}
        for v in versions:
            if "promotion" in v.tags or STATUS_TAG in v.tags or str(v.version) in aliased or not v.run_id:
                continue
            run = client.get_run(v.run_id)
            if RUN_PID not in run.data.tags or not (run.info.status in ("FAILED", "KILLED") or dead(run)):
                continue
            if run.info.status == "RUNNING":
                client.set_terminated(run.info.run_id, "FAILED")
            client.set_model_version_tag(name, v.version, STATUS_TAG, INCOMPLETE)
            notes.append(
                f"version {v.version} of {name} was registered by a training that died before promoting it "
                f"(run {v.run_id}): tagged {STATUS_TAG}={INCOMPLETE}, never made champion"
            )
    except MlflowException:
        return notes
    return notes


class UnreadableModel(StructuralError):
    """A registered model whose files are missing or cannot be loaded (moved, deleted, corrupt): `cvp train`
    registers a new model without comparing it with such a champion, and says so. `why`: what is wrong, alone."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = printable(why)  # no password, no control character


def current_champion(name: str) -> str | None:
    from pipelines.mlflow_import import MlflowException, mlflow

    try:
        return str(mlflow.MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def registered_name(uri: str | None) -> str | None:
    """The registered model's name in `models:/<name>/<version>` or `models:/<name>@<alias>`; None otherwise."""
    if not uri or not str(uri).startswith("models:/"):
        return None
    return str(uri).removeprefix("models:/").split("@", 1)[0].split("/", 1)[0] or None
