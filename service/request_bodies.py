"""The JSON request bodies that start scoring: a job's and a batch's. The scoring options are
checked here, once, before anything is stored."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scoring.intake import mpp_problem
from scoring.tps import DEFAULT_ASSAY, check_cutoffs, resolve_cutoffs
from service.errors import unprocessable


class ScoreOptions(BaseModel):
    """How to score: the assay picks default cutoffs; explicit cutoffs (percent) override them.
    `mpp` gives the microns per pixel of a slide that states none (or overrides what it states).

    A field the body does not define is refused (a misspelt "treshold" would otherwise score
    with the default silently); so is an unknown assay, unless cutoffs are given."""

    model_config = ConfigDict(extra="forbid")

    assay: str = Field(default=DEFAULT_ASSAY, min_length=1, max_length=40)
    cutoffs: list[float] | None = Field(default=None, min_length=1, max_length=10)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    mpp: float | None = None

    @field_validator("cutoffs")
    @classmethod
    def _valid_cutoffs(cls, value: list[float] | None) -> list[float] | None:
        return None if value is None else list(check_cutoffs(value))

    @field_validator("mpp")
    @classmethod
    def _plausible_mpp(cls, value: float | None) -> float | None:
        problem = None if value is None else mpp_problem(value, "the job request")
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _known_assay(self) -> ScoreOptions:
        # The cutoffs are valid by now, so the only refusal left is an assay that has no
        # cutoffs of its own when none are given; its message names the known assays.
        try:
            resolve_cutoffs(self.assay, self.cutoffs)
        except ValueError as exc:
            raise unprocessable(str(exc)) from None
        return self

    def as_params(self) -> dict[str, Any]:
        """Only the scoring options, whatever else the subclass body carries."""
        return self.model_dump(include=set(ScoreOptions.model_fields))


class JobCreate(ScoreOptions):
    slide_id: str


class BatchCreate(ScoreOptions):
    """Either slides (a job is created for each) or existing jobs, not both."""

    slide_ids: list[str] | None = Field(default=None, min_length=1, max_length=10000)
    job_ids: list[str] | None = Field(default=None, min_length=1, max_length=10000)

    @model_validator(mode="after")
    def _one_kind(self) -> BatchCreate:
        if (self.slide_ids is None) == (self.job_ids is None):
            raise ValueError("give exactly one of slide_ids or job_ids")
        return self
