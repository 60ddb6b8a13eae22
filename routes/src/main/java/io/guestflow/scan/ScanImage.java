package io.guestflow.scan;

/**
 * One image a scan run found.
 *
 * @param path        absolute path, as the job names it
 * @param fingerprint what identifies this content of the image (see {@link ScanConfig.Fingerprint})
 * @param jobId       the deterministic job id of the scan's job for this image
 */
public record ScanImage(String path, long size, String modified, String fingerprint, String jobId) {
}
