"""Tally names -> CloudWatch metric names: data, importable without creating the Logger and Metrics
that runtime/observability.py makes (those read the environment when they are created)."""

# Tally names -> CloudWatch metric names.
METRIC_NAMES = {
    "delivered": "RecipientsDelivered",
    "deferred": "RecipientsDeferred",
    "bounced": "RecipientsBounced",
    "expired": "RecipientsExpired",
    "uncertain": "RecipientsUncertain",
    "uncertain_retried": "UncertainRetried",
    "suppressed": "RecipientsSuppressed",
    "requeued": "Requeued",
    "rejected_input": "RejectedInput",
    "skipped_duplicate": "DuplicatesSkipped",
    "record_errors": "RecordErrors",
    "dsn_sent": "DsnSent",
    "dsn_undeliverable": "DsnUndeliverable",  # DSNs refused permanently, or (mx mode) deferred past DSN_MAX_AGE
    "events_published": "BounceEventsPublished",
    "suppressed_addresses": "AddressesSuppressed",
    "reputation_blocks": "ReputationBlocks",  # refusals aimed at our own sending reputation: alarmed on
    "reports": "ReturnedReports",
    "unclassified": "ReturnedUnclassified",
    "forged_return_paths": "ForgedReturnPaths",
    "unknown_records": "ReturnedUnknownRecords",
    "ignored_events": "IgnoredEvents",
    "scan_failed": "ReturnedScanFailed",  # stored mail SES scanned as spam or a virus: dropped
    "sender_refusals": "SenderRefusals",  # refusals of our envelope sender or set-up: never suppress
    "unproven_recipients": "UnprovenRecipients",  # named by returned mail, not proven sent to
    "unsigned_notifications": "UnsignedNotifications",  # SES JSON found in a mail body
    "forged_notifications": "ForgedNotifications",  # SES notifications from the queue without a valid SNS signature
    "untrusted_reports": "UntrustedReports",  # report-shaped dead letters without our signature
    "untrusted_attributes": "UntrustedAttributes",  # re-enqueue attributes without our signature
    "key_reused": "MessageKeysReused",
    "delivered_events": "DeliveredEventsPublished",
    "delivered_events_failed": "DeliveredEventsFailed",  # the mail went out; only the event is missing
    "tls_policy_failures": "TlsPolicyFailures",  # MX mode: an MTA-STS check failed (enforce: not sent there)
    "budget_waits": "RelayBudgetWaits",  # records that waited for the relay's shared budget
    "relay_quota": "RelayQuotaReplies",  # recipients the relay refused for its quota or rate: queued, not bounced
    "relay_quota_daily": "RelayQuotaDaily",
    "relay_quota_rate": "RelayQuotaRate",
    "relay_quota_recipients": "RelayQuotaRecipients",
    "campaign_without_unsubscribe": "CampaignWithoutUnsubscribe",  # no UNSUBSCRIBE_BASE_URL/MAILTO configured
    "dkim_signed": "DkimSignedMessages",
    "unsigned_messages": "UnsignedMessages",  # DKIM is configured, but not for the From domain: sent unsigned
    "unsigned_refused": "UnsignedRefused",  # the same with DKIM_STRICT: refused and reported
    # campaigns: dispatch
    "campaigns_auto_paused": "CampaignsAutoPaused",  # a campaign's health paused it: alarmed on
    "campaign_held": "CampaignRecordsHeld",  # a paused or not yet started campaign's record waits
    "campaign_dropped": "CampaignRecordsDropped",  # a cancelled or expired campaign's record, unsent
    "campaign_repeat": "CampaignRepeatsSkipped",  # a recipient's request enqueued again (a resumed fan-out)
    "campaign_count_failed": "CampaignCountFailed",
    # campaigns: fan-out
    "enqueued": "CampaignRecipientsEnqueued",
    "duplicates": "CampaignDuplicateRows",
    "invalid_rows": "CampaignInvalidRows",
    "checkpoints": "CampaignCheckpoints",
    "checkpoint_refused": "CampaignCheckpointsRefused",  # paused, cancelled, or another fan-out moved on
    "interrupted": "CampaignFanoutInterrupted",  # SQS kept refusing entries: the group is sent again later
    "pending": "CampaignRecipientsPending",
    "preflight_failed": "CampaignPreflightFailed",  # the From domain's sender check failed: the campaign paused
    "preflight_passed": "CampaignPreflightPassed",
    "preflight_dns_errors": "CampaignPreflightDnsErrors",  # DNS did not answer the check: the run is retried
}
