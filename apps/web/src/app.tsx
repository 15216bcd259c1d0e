import { Navigate, Route, Router } from '@solidjs/router';
import { QueryClientProvider } from '@tanstack/solid-query';
import { Show } from 'solid-js';
import { AppShell } from './components/app-shell';
import { orgGeneration } from './lib/org-session';
import { queryClient } from './lib/queries';
import { TenantsPage } from './pages/admin/tenants';
import { AgentsPage } from './pages/agents';
import { AlertsPage } from './pages/alerts/alerts-page';
import { AuditLogPage } from './pages/audit-log';
import { SignInPage, SignUpPage } from './pages/auth-pages';
import { DevInboxPage } from './pages/dev-inbox';
import { HomePage } from './pages/home';
import { InvitePage } from './pages/invite';
import { NotFoundPage } from './pages/not-found';
import { ResourceDetailPage } from './pages/resources/resource-detail';
import { ResourcesPage } from './pages/resources/resources-page';
import { ServerPage } from './pages/server-page';
import { ApiTokensPage } from './pages/settings/api-tokens';
import { OrgAccessPanel } from './pages/settings/org-access';
import { OrgBillingPanel } from './pages/settings/org-billing';
import { OrgOverviewPanel } from './pages/settings/org-overview';
import { OrgSharingPanel } from './pages/settings/org-sharing';
import { OrganizationSettings } from './pages/settings/organization';
import { PlansPage } from './pages/settings/plans';
import { SettingsLayout } from './pages/settings/settings-layout';

/**
 * The app. The router is keyed by the org generation: switching organizations (or users)
 * remounts every page on a freshly cleared cache.
 */
export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <Show when={orgGeneration()} keyed>
        {(_generation) => (
          <Router>
            <Route path="/signin" component={SignInPage} />
            <Route path="/signup" component={SignUpPage} />
            <Route path="/admin/jobs/*" component={ServerPage} />
            <Route path="/invite/:token" component={InvitePage} />
            <Route path="/dev/inbox/:id?" component={DevInboxPage} />
            <Route path="/" component={AppShell}>
              <Route path="/" component={HomePage} />
              <Route path="/settings" component={SettingsLayout}>
                <Route path="/" component={() => <Navigate href="/settings/organization" />} />
                <Route path="/organization" component={OrganizationSettings}>
                  <Route path="/" component={OrgOverviewPanel} />
                  <Route path="/access" component={OrgAccessPanel} />
                  <Route path="/sharing" component={OrgSharingPanel} />
                  <Route path="/billing" component={OrgBillingPanel} />
                </Route>
                <Route path="/plans" component={PlansPage} />
                <Route path="/tokens" component={ApiTokensPage} />
              </Route>
              <Route path="/admin/tenants" component={TenantsPage} />
              <Route path="/resources" component={ResourcesPage} />
              <Route path="/resources/:id" component={ResourceDetailPage} />
              <Route path="/agents" component={AgentsPage} />
              <Route path="/alerts" component={AlertsPage} />
              <Route path="/audit" component={AuditLogPage} />
              <Route path="*404" component={NotFoundPage} />
            </Route>
          </Router>
        )}
      </Show>
    </QueryClientProvider>
  );
}
