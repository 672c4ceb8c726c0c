"""Load the demo's characterisations, energy scans, XRF spectra, plans and doses (issue 16).

Runs after the bulk demo load (loader.load_demo), reading back the collections it wrote; the values
themselves come from site_adapter.demo_screening. Must not run on a real facility's store.
"""

from __future__ import annotations

import asyncpg

from site_adapter import demo_screening as demo


async def load_screening_demo(conn: asyncpg.Connection, site: str, seed: int = 1) -> dict[str, int]:
    """Write the rows and return counts per table; a store that already has screenings is left alone."""
    if await conn.fetchval("SELECT count(*) FROM screening") > 0:
        return {}
    rows = await conn.fetch(
        "SELECT dc.id, dc.start_time, c.space_group, c.cell_a, c.cell_b, c.cell_c, c.cell_alpha, c.cell_beta,"
        " c.cell_gamma, dc.wavelength, dc.resolution, dc.beam_size_x, dc.beam_size_y, dc.image_directory"
        " FROM data_collection dc LEFT JOIN sample s ON s.id = dc.sample_id LEFT JOIN crystal c ON c.id = s.crystal_id"
        " WHERE dc.experiment_type = 'Characterization' AND dc.start_time IS NOT NULL ORDER BY dc.id"
    )
    characterised = [
        demo.Characterised(
            data_collection_id=r["id"],
            start_time=r["start_time"],
            space_group=r["space_group"],
            cell=None
            if r["cell_a"] is None
            else tuple(r[f"cell_{x}"] for x in ("a", "b", "c", "alpha", "beta", "gamma")),
            wavelength=r["wavelength"] or 0.9763,
            resolution=r["resolution"] or 1.5,
            beam_size=(r["beam_size_x"] or 50.0, r["beam_size_y"] or 20.0),
            directory=r["image_directory"] or "/data/",
        )
        for r in rows
    ]
    screenings = list(demo.screening_rows(site, seed, characterised))
    # One sample per third session: the SeMet crystals whose edge the beamline scanned first.
    firsts = await conn.fetch(
        "SELECT DISTINCT ON (se.id) se.id, dc.sample_id, se.start_time, dc.image_directory"
        " FROM session se JOIN data_collection dc ON dc.session_id = se.id"
        " WHERE se.id % 3 = 0 ORDER BY se.id, dc.sort_time, dc.id"
    )
    scans, spectra = demo.scan_rows(
        site,
        seed,
        [(r["id"], r["sample_id"], r["start_time"], r["image_directory"] or "/data/") for r in firsts],
    )
    plans = demo.plan_rows()
    await conn.copy_records_to_table("diffraction_plan", records=plans, columns=list(demo.PLAN_COLUMNS))
    await conn.execute(
        "UPDATE sample SET diffraction_plan_id = CASE WHEN id % 7 = 0 THEN 2 WHEN id % 11 = 0 THEN 3 ELSE 1 END"
        " WHERE id % 3 = 0"
    )
    # Rotation collections of a planned sample were made under its plan.
    await conn.execute(
        "UPDATE data_collection dc SET diffraction_plan_id = s.diffraction_plan_id FROM sample s"
        " WHERE s.id = dc.sample_id AND s.diffraction_plan_id IS NOT NULL AND dc.experiment_type = 'OSC'"
    )
    await conn.copy_records_to_table("screening", records=screenings, columns=list(demo.SCREENING_COLUMNS))
    await conn.copy_records_to_table("energy_scan", records=scans, columns=list(demo.ENERGY_SCAN_COLUMNS))
    await conn.copy_records_to_table("xrf_spectrum", records=spectra, columns=list(demo.XRF_COLUMNS))
    # Dose of every collection by Holton's rule (demo_screening.dose_mgy), in SQL over the loaded rows.
    await conn.execute(
        "UPDATE data_collection SET dose = round((flux * exposure_time * number_of_images"
        f" / (beam_size_x * beam_size_y) / {demo.HOLTON_PHOTONS_PER_GY} / 1e6)::numeric, 3)"
        " WHERE flux > 0 AND exposure_time > 0 AND number_of_images > 0 AND beam_size_x > 0 AND beam_size_y > 0"
    )
    return {
        "screening": len(screenings),
        "energy_scan": len(scans),
        "xrf_spectrum": len(spectra),
        "diffraction_plan": len(plans),
    }
