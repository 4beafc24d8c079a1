"""The service types of the reseller API (docs/api.md, the `add` table).

The stored value is the v1 (snake_case) name; the label is the v2 name.
"""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy


class ServiceType(models.TextChoices):
    DEFAULT = "default", "Default"
    PACKAGE = "package", "Package"
    CUSTOM_COMMENTS = "custom_comments", "Custom Comments"
    CUSTOM_COMMENTS_PACKAGE = "custom_comments_package", "Custom Comments Package"
    MENTIONS = "mentions", "Mentions"
    MENTIONS_WITH_HASHTAGS = "mentions_with_hashtags", "Mentions with Hashtags"
    MENTIONS_CUSTOM_LIST = "mentions_custom_list", "Mentions Custom List"
    MENTIONS_HASHTAG = "mentions_hashtag", "Mentions Hashtag"
    MENTIONS_USER_FOLLOWERS = "mentions_user_followers", "Mentions User Followers"
    MENTIONS_MEDIA_LIKERS = "mentions_media_likers", "Mentions Media Likers"
    COMMENT_LIKES = "comment_likes", "Comment Likes"
    COMMENT_REPLIES = "comment_replies", "Comment Replies"
    POLL = "poll", "Poll"
    INVITES_FROM_GROUPS = "invites_from_groups", "Invites from Groups"
    SEO = "seo", "SEO"
    SUBSCRIPTIONS = "subscriptions", "Subscriptions"


# The most ids one `status`, `refill`, `refill_status` or `cancel` call takes, in both
# dialects: what the panel's API accepts and what it sends upstream (docs/api.md).
MAX_IDS = 100

# Types charged a flat `rate` per order rather than `rate` per 1000 units.
PACKAGE_TYPES = frozenset({ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE})

# The types' names in the reader's language, for the website (the labels above are the API's).
TYPE_LABELS: dict[str, Promise] = {
    ServiceType.DEFAULT: pgettext_lazy("service type", "Default"),
    ServiceType.PACKAGE: pgettext_lazy("service type", "Package"),
    ServiceType.CUSTOM_COMMENTS: pgettext_lazy("service type", "Custom Comments"),
    ServiceType.CUSTOM_COMMENTS_PACKAGE: pgettext_lazy("service type", "Custom Comments Package"),
    ServiceType.MENTIONS: pgettext_lazy("service type", "Mentions"),
    ServiceType.MENTIONS_WITH_HASHTAGS: pgettext_lazy("service type", "Mentions with Hashtags"),
    ServiceType.MENTIONS_CUSTOM_LIST: pgettext_lazy("service type", "Mentions Custom List"),
    ServiceType.MENTIONS_HASHTAG: pgettext_lazy("service type", "Mentions Hashtag"),
    ServiceType.MENTIONS_USER_FOLLOWERS: pgettext_lazy("service type", "Mentions User Followers"),
    ServiceType.MENTIONS_MEDIA_LIKERS: pgettext_lazy("service type", "Mentions Media Likers"),
    ServiceType.COMMENT_LIKES: pgettext_lazy("service type", "Comment Likes"),
    ServiceType.COMMENT_REPLIES: pgettext_lazy("service type", "Comment Replies"),
    ServiceType.POLL: pgettext_lazy("service type", "Poll"),
    ServiceType.INVITES_FROM_GROUPS: pgettext_lazy("service type", "Invites from Groups"),
    ServiceType.SEO: pgettext_lazy("service type", "SEO"),
    ServiceType.SUBSCRIPTIONS: pgettext_lazy("service type", "Subscriptions"),
}
