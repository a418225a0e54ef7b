"""The demo company simulator: a synthetic multi-year B2B/B2C business drawn from latent customer archetypes.

`generate_company` draws it (see `pipelines.demo.company` for the tables and their time semantics),
`write_company` writes it; the rooms, in drawing order: `params` (archetype profiles and labels),
`calendar_and_managers`, `customers`, `events` (orders, returns, tickets, invoices), `assemble` (contract frames
and the latent truth), `write`.
"""

from pipelines.demo.assemble import DemoCompany
from pipelines.demo.company import generate_company
from pipelines.demo.params import ARCHETYPES, TABLE_NAMES
from pipelines.demo.write import write_company

__all__ = ["ARCHETYPES", "TABLE_NAMES", "DemoCompany", "generate_company", "write_company"]
