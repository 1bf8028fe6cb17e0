using DeepPerception.Abstractions;
using DeepPerception.Api;

namespace DeepPerception.Portal.Data;

/// <summary>Turns errors of the application services into messages that say what to do.</summary>
public static class PortalErrors
{
    /// <summary>A message for <paramref name="error"/> with the next step.</summary>
    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error switch
        {
            ResourceNotFoundException e => $"{e.Message} Pick an existing item from the list, or create it first.",
            QuotaExceededException e => $"{e.Message} Lower the steps or ask a platform admin to raise the tenant's GPU-seconds budget.",
            BudgetExceededException e => $"{e.Message} Ask a platform admin to raise the tenant's GPU-seconds budget.",
            RateLimitedException e => $"{e.Message} Wait a moment and try again.",
            ConflictException e => $"{e.Message} Reload the page to see the current state.",
            InvalidRequestException e => $"{e.Message} Correct the value and try again.",
            UnprocessableException e => $"{e.Message} Fix the listed records and upload again.",
            PayloadTooLargeException e => $"{e.Message} Upload fewer or smaller files at once.",
            UnsupportedMediaTypeException e => $"{e.Message} Use one of the supported formats.",
            ForbiddenException e => $"{e.Message} Sign in with a key that has the needed role.",
            AccessDeniedException e => $"{e.Message} Sign in with a key that has the needed role.",
            UnauthenticatedException e => $"{e.Message} Sign in again.",
            ServiceUnavailableException e => $"{e.Message} Try again in a moment.",
            PlatformException e => $"{e.Message} Try again; if it persists, tell a platform admin.",
            TimeoutException => "The platform did not answer in time. Try again in a moment.",
            _ => $"Something went wrong: {error.Message}. Reload the page and try again; if it persists, tell a platform admin.",
        };
    }
}
