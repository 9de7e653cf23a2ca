"""The X-ray viewer's ruler is calibrated from the DICOM header: PixelSpacing, else ImagerPixelSpacing, is kept
with the image (read in the render sandbox) and handed to the viewer; anything else measures in pixels."""

import io

import pytest
from pydicom import dcmread

from portal.imaging import rendering
from portal.permissions import Role
from portal.tables import PatientImage
from tests import factories
from tests import image_samples as samples
from tests.factories import sign_in_as


@pytest.mark.parametrize("tags, spacing", [
    ({"pixel_spacing": (0.1, 0.125)}, (0.1, 0.125)),
    ({"imager_pixel_spacing": (0.035, 0.035)}, (0.035, 0.035)),
    ({"pixel_spacing": (0.2, 0.2), "imager_pixel_spacing": (0.25, 0.25)}, (0.2, 0.2)),  # in the patient wins
    ({}, None),
    ({"pixel_spacing": (0, 0.1)}, None),  # a zero is not a calibration
    ({"pixel_spacing": (0, 0.1), "imager_pixel_spacing": (0.05, 0.05)}, (0.05, 0.05)),
])
def test_the_spacing_is_read_from_the_header(tags, spacing):
    assert rendering.dicom_pixel_spacing(dcmread(io.BytesIO(samples.dicom(**tags)))) == spacing


async def test_an_upload_keeps_the_spacing_and_the_viewer_passes_it(client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    patient = await factories.make_patient(clinic)
    calibrated = await samples.stored(clinic, patient, "bw.dcm", samples.dicom(pixel_spacing=(0.1, 0.125)))
    plain = await samples.stored(clinic, patient, "old.dcm", samples.dicom())
    photo = await samples.stored(clinic, patient, "smile.png")
    rows = {r["id"]: r for r in await PatientImage.select(
        PatientImage.id, PatientImage.pixel_spacing_row, PatientImage.pixel_spacing_column)}
    assert (rows[calibrated]["pixel_spacing_row"], rows[calibrated]["pixel_spacing_column"]) == (0.1, 0.125)
    assert rows[plain]["pixel_spacing_row"] is None and rows[photo]["pixel_spacing_column"] is None
    await sign_in_as(client, dentist)
    page = (await client.get(f"/patients/{patient}/images/{calibrated}")).text
    assert 'data-spacing-row="0.1" data-spacing-column="0.125"' in page and 'data-width="48" data-height="64"' in page
    assert 'data-ruler-mm="{length} mm"' in page and 'src="/static/js/image-ruler.js"' in page
    for uncalibrated in (plain, photo):
        page = (await client.get(f"/patients/{patient}/images/{uncalibrated}")).text
        assert "data-ruler-toggle" in page and "data-spacing-row" not in page
        assert "Not calibrated: the ruler measures in pixels." in page
