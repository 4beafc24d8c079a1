"""The service types of the reseller API (docs/api.md, the `add` table).

The stored value is the v1 (snake_case) name; the label is the v2 name.
"""

from django.db import models


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


# Types charged a flat `rate` per order rather than `rate` per 1000 units.
PACKAGE_TYPES = frozenset({ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE})
