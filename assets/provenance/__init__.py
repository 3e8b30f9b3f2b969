"""Provenance you can prove: what Atelier puts into every image it generates, and how a check reads it back.

At ingest (`stamp.provenance_stamp`), in this order: Atelier's invisible watermark carrying the asset's watermark
id goes into the pixels (`marks`), the image is encoded in its own format again, a C2PA manifest signed with the
platform's certificate is embedded last (`manifest`, with the credentials of `credentials`), and the sha256 of
those final bytes names the stored object. A perceptual hash of the pixels (`fingerprints`) finds near copies.

A check (`checks.provenance_check_run`) runs every detector of `detectors` on an image and stores the evidence
and a verdict as a ProvenanceCheck.
"""
