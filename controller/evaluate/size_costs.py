"""Investment costs of a sizing study: annualised with the annuity factor, overridable in TOML.

Defaults (see docs/size.md for where they come from and how sure they are) follow the Danish
Energy Agency's "Technology Data for Generation of Electricity and District Heating": large
electric heat pumps, large hot-water tanks and gas-fired district-heating boilers. They are
assumed round figures of that catalogue's order of magnitude, not values checked against a
specific edition here: a study that matters sets its own in `--costs FILE`.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.config import ConfigError
from drivers.schema import error_message

Years = Annotated[int, Field(ge=1, le=100)]
EurPer = Annotated[float, Field(ge=0, le=1e9)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeatPumpCost(_Strict):
    investment_eur_per_mw: EurPer = 900_000.0
    fixed_om_eur_per_mw_year: EurPer = 2_000.0
    lifetime_years: Years = 25


class TankCost(_Strict):
    investment_eur_per_m3: EurPer = 200.0
    fixed_om_eur_per_m3_year: EurPer = 0.0
    lifetime_years: Years = 40


class BoilerCost(_Strict):
    investment_eur_per_mw: EurPer = 60_000.0
    fixed_om_eur_per_mw_year: EurPer = 2_000.0
    lifetime_years: Years = 25


class CostCatalogue(_Strict):
    """What a MW of heat pump, a m3 of tank and a MW of boiler cost a year."""

    discount_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.04  # real, per year
    # heat the network did not get, per MWh; None: the plant's planner penalty
    unmet_heat_eur_per_mwh: Annotated[float, Field(ge=0, le=1e7)] | None = None
    heat_pump: HeatPumpCost = HeatPumpCost()
    tank: TankCost = TankCost()
    boiler: BoilerCost = BoilerCost()

    def annuity_factor(self, lifetime_years: int) -> float:
        """The share of an investment paid each year over its life at the discount rate."""
        rate = self.discount_rate
        if rate == 0:
            return 1.0 / lifetime_years
        # expm1/log1p: at a tiny rate 1 - (1 + rate)^-n rounds to 0 and the factor would divide
        # by zero; this form tends to 1/n as it should
        return rate / -math.expm1(-lifetime_years * math.log1p(rate))

    def heat_pump_eur_per_year(self, heat_pump_mw: float) -> float:
        c = self.heat_pump
        yearly = c.investment_eur_per_mw * self.annuity_factor(c.lifetime_years)
        return heat_pump_mw * (yearly + c.fixed_om_eur_per_mw_year)

    def tank_eur_per_year(self, tank_m3: float) -> float:
        c = self.tank
        yearly = c.investment_eur_per_m3 * self.annuity_factor(c.lifetime_years)
        return tank_m3 * (yearly + c.fixed_om_eur_per_m3_year)

    def boiler_eur_per_year(self, boiler_mw: float) -> float:
        c = self.boiler
        yearly = c.investment_eur_per_mw * self.annuity_factor(c.lifetime_years)
        return boiler_mw * (yearly + c.fixed_om_eur_per_mw_year)


def load_costs(path: Path | None) -> CostCatalogue:
    """The defaults, with what `path` sets instead; ConfigError naming the file and the field."""
    if path is None:
        return CostCatalogue()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the cost file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the cost file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return CostCatalogue.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(error_message(f"{path}: invalid cost file", exc, raw)) from None
