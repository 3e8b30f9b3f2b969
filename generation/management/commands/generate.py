"""Submit a job from the terminal and watch it to the end.

    python manage.py generate --tenant demo --model amazon.nova-canvas-v1:0 --prompt "a red kite" --n 2
    python manage.py generate --tenant demo --model amazon.titan-image-generator-v2:0 --task BACKGROUND_REMOVAL \\
        --image photo.png
    python manage.py generate --tenant demo --model stability.stable-image-search-replace-v1:0 --image photo.png \\
        --prompt "a red umbrella" --param search_prompt="the hat"
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assets.selectors import job_assets
from config.errors import ApplicationError
from generation.bedrock.request import IMAGE_FIELDS
from generation.models import GenerationJob
from generation.services import job_submit
from tenants.models import Tenant

IMAGE_OPTIONS = IMAGE_FIELDS  # --image, --mask-image, --reference-image, --condition-image, --style-image
BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Submit an image job and show its progress until it ends; prints the asset ids."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--model", required=True, help="Catalog model id.")
        parser.add_argument(
            "--task", help="Task type, e.g. INPAINTING (default: TEXT_IMAGE, or an image service's own task)."
        )
        parser.add_argument("--prompt")
        parser.add_argument("--negative-prompt")
        parser.add_argument("--n", type=int, help="Images (default 1; more than 5 makes a batch, up to 200).")
        parser.add_argument("--size", help="WIDTHxHEIGHT (Titan, Nova).")
        parser.add_argument("--aspect-ratio", help="Stability, e.g. 16:9.")
        parser.add_argument("--quality", choices=["standard", "premium"])
        parser.add_argument("--seed", type=int)
        parser.add_argument("--project", help="Project id (default: the tenant's default project).")
        for name in IMAGE_OPTIONS:
            option = f"--{name.replace('_', '-')}"
            parser.add_argument(option, type=Path, help="An image file (PNG, JPEG; WebP for tools).")
        parser.add_argument("--images", type=Path, nargs="+", help="Variation sources.")
        parser.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE", help="Any other field.")
        parser.add_argument("--timeout", type=float, default=900, help="Seconds to wait for the end.")
        parser.add_argument("--no-wait", action="store_true", help="Print the job id and return.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        try:
            submission = job_submit(
                tenant=tenant,
                actor=None,
                model_id=options["model"],
                raw=self._raw(options),
                project_id=options["project"],
            )
        except ApplicationError as error:
            details = "; ".join(f"{field}: {' '.join(reasons)}" for field, reasons in error.fields.items())
            raise CommandError(details or error.message) from None
        job = submission.job
        self.stdout.write(f"Job {job.pk} {job.status} ({job.images_requested} image(s)).")
        for warning in job.warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        if options["no_wait"]:
            return
        job = self._watch(job, options["timeout"])
        for asset in job_assets(job):
            self.stdout.write(f"Asset {asset.pk} {asset.width}x{asset.height} {asset.format} seed={asset.seed}")
        if job.status in (GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED):
            raise CommandError(f"Job {job.status}: {job.error_code} {job.error_message}".strip())
        self.stdout.write(self.style.SUCCESS(f"Job {job.status}."))

    def _raw(self, options) -> dict:
        raw = {"task_type": options["task"]} if options["task"] else {}
        for name in ("prompt", "negative_prompt", "n", "size", "aspect_ratio", "quality", "seed"):
            if options[name] is not None:
                raw[name] = options[name]
        for name in IMAGE_OPTIONS:
            if options[name] is not None:
                raw[name] = self._read(options[name])
        if options["images"]:
            raw["images"] = [self._read(path) for path in options["images"]]
        for pair in options["param"]:
            field, separator, value = pair.partition("=")
            if not separator:
                raise CommandError(f"--param {pair!r}: use FIELD=VALUE.")
            raw[field] = value.split(",") if field == "colors" else value
        return raw

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None

    def _watch(self, job: GenerationJob, timeout: float) -> GenerationJob:
        deadline = time.monotonic() + timeout
        while True:
            job.refresh_from_db()
            done = job_assets(job).count()
            filled = BAR_WIDTH * min(done, job.images_requested) // max(job.images_requested, 1)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stdout.write(f"\r[{bar}] {done}/{job.images_requested} {job.status:<20}", ending="")
            self.stdout.flush()
            if job.is_terminal:
                self.stdout.write("")
                return job
            if time.monotonic() > deadline:
                self.stdout.write("")
                raise CommandError(f"Still {job.status} after {timeout:.0f} s; the job goes on (id {job.pk}).")
            time.sleep(0.5)
